"""Generating a report: claim it, stream its users into a file, save that to storage.

The export never holds the rows in memory: on Postgres `COPY (SELECT ...) TO STDOUT` streams the
finished CSV cells (psycopg 3) into a temporary file; elsewhere a chunked ORM iterator feeds
`csv.writer`. The file is then handed to Django's storage, and the task's result only points at it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from django.conf import settings
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from psycopg import ClientCursor

from tasks_app.models import UserReport
from tasks_app.selectors.reports import (
    CSV_HEADER,
    FORMULA_PREFIXES,
    report_rows,
    report_rows_postgres_sql,
)
from tasks_app.services.reports.copy import copy_out
from tasks_app.services.reports.requests import report_fail

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
Status = UserReport.Status


def report_tmp_path(report_id: UUID | str) -> Path:
    """Where a report is written before it is saved to storage; known from the id alone, so a
    sweep can remove what a killed worker left behind."""
    return Path(settings.REPORT_TMP_DIR) / f"{report_id}.csv.part"


def report_generate(
    *,
    report_id: UUID | str,
    on_progress: ProgressCallback | None = None,
    describe_failure: Callable[[BaseException], str | None] | None = None,
) -> dict[str, Any]:
    """Export one pending report to storage; return a small summary for the task result.

    The report is claimed with a conditional UPDATE (pending -> running): a redelivered or
    duplicated message finds it no longer pending and does nothing, so two exports of the same
    report never run at once. Any error (including a soft time limit) removes the partial file and
    marks the report failed before it propagates; `describe_failure` lets the caller word the
    error of interruptions it knows (the task: its time limit).
    """
    started = timezone.now()
    claimed = UserReport.objects.filter(pk=report_id, status=Status.PENDING).update(
        status=Status.RUNNING, started_at=started, rows_written=0, error=""
    )
    if not claimed:
        current = UserReport.objects.filter(pk=report_id).values_list("status", flat=True).first()
        logger.info("report %s not claimed (status %s): skipped", report_id, current or "missing")
        return {"status": "skipped", "report_id": str(report_id), "report_status": current}

    report = UserReport.objects.get(pk=report_id)
    tmp = report_tmp_path(report.pk)
    progress = _Progress(report.pk, on_progress)
    try:
        tmp.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Personal data: readable by the app's user only, from the first byte (umask aside).
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb", 1 << 20) as out:
            out.write(_header_line())
            if connection.vendor == "postgresql":
                rows = _export_postgres(report.filters, out, progress)
            else:
                rows = _export_portable(report.filters, out, progress)
        with tmp.open("rb") as content:
            _save_to_storage(report, content, tmp=tmp, started=started)
        finished = timezone.now()
        completed = UserReport.objects.filter(pk=report.pk, status=Status.RUNNING).update(
            status=Status.COMPLETED,
            file=report.file.name,
            rows_written=rows,
            total_rows=rows,
            row_count=rows,
            finished_at=finished,
        )
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if report.file:  # saved just before the interruption
            report.file.delete(save=False)
        error = (describe_failure and describe_failure(exc)) or f"{type(exc).__name__}: {exc}"
        report_fail(report_id=report.pk, error=error[:2000])
        raise
    if not completed:  # a stale sweep failed it meanwhile: do not leave an orphan file
        report.file.delete(save=False)
        return {"status": "skipped", "report_id": str(report.pk), "report_status": "failed"}
    logger.info("report %s completed: %s rows in %s", report.pk, rows, report.file.name)
    return {
        "status": "completed",
        "rows": rows,
        "report_id": str(report.pk),
        "file": report.file.name,
        "generated_at": finished.isoformat(),
    }


def _save_to_storage(
    report: UserReport, content: IO[bytes], *, tmp: Path, started: datetime
) -> None:
    """Save the finished file; a save cut short (a full disk, a time limit) may have left part
    of it under its name (Django's move across file systems copies and never removes it), so
    that is removed before the error goes on."""
    field = report.file.field
    name = field.generate_filename(
        report, f"users-{started:%Y%m%d-%H%M%S}-{str(report.pk)[:8]}.csv"
    )
    try:
        report.file.name = report.file.storage.save(
            name, _LocalFile(content, path=tmp), max_length=field.max_length
        )
    except BaseException:
        try:
            if report.file.storage.exists(name):
                report.file.storage.delete(name)
        except Exception:  # the storage is unreachable: nothing of it was written either
            logger.warning("could not check for a partial report file %s", name, exc_info=True)
        raise
    tmp.unlink(missing_ok=True)  # a storage that copies it (S3) leaves it behind


class _Progress:
    """Saves rows_written every REPORT_PROGRESS_EVERY rows: one UPDATE by primary key."""

    def __init__(self, report_id: UUID, on_progress: ProgressCallback | None) -> None:
        self.report_id = report_id
        self.on_progress = on_progress
        self.every = settings.REPORT_PROGRESS_EVERY
        self.total: int | None = None

    def start(self, total: int) -> None:
        self.total = total
        UserReport.objects.filter(pk=self.report_id).update(total_rows=total)
        if self.on_progress:
            self.on_progress(0, total)

    def __call__(self, rows: int) -> None:
        UserReport.objects.filter(pk=self.report_id).update(rows_written=rows)
        if self.on_progress:
            self.on_progress(rows, self.total)


def _export_postgres(filters: Mapping[str, Any], out: IO[bytes], progress: _Progress) -> int:
    """COPY the shaped SELECT to `out` on a connection of its own, so that the default one can
    save progress meanwhile (a connection in COPY mode can run nothing else).

    The total for the percentage is the planner's estimate: an exact count(*) is a second full scan
    (about 5% of the export).
    """
    sql, params = report_rows_postgres_sql(filters)
    export_db = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        export_db.ensure_connection()
        pg = export_db.connection
        with pg.cursor() as cursor:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
            plan = cursor.fetchone()[0]
        plan = json.loads(plan) if isinstance(plan, str) else plan
        progress.start(int(plan[0]["Plan"]["Plan Rows"]))
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
        query = ClientCursor(pg).mogrify(copy_sql, params).encode(pg.info.encoding)
        rows = copy_out(pg.pgconn, query, out, on_rows=progress, every=progress.every)
    finally:
        export_db.close()  # also ends a COPY interrupted by a time limit
    progress(rows)
    return rows


def _export_portable(filters: Mapping[str, Any], out: IO[bytes], progress: _Progress) -> int:
    """Any database: a chunked server-side iterator and csv.writer, formatting in Python."""
    selection = report_rows(filters)
    progress.start(selection.count())
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    writer = csv.writer(text)
    rows, next_save = 0, progress.every
    for user_id, username, role, is_active, created_at in selection.iterator(chunk_size=2000):
        writer.writerow((str(user_id), csv_safe(username), role, is_active, created_at.isoformat()))
        rows += 1
        if rows == next_save:
            progress(rows)
            next_save += progress.every
    text.flush()
    text.detach()  # the caller closes the binary file
    progress(rows)
    return rows


def csv_safe(value: str) -> str:
    """Neutralise a cell a spreadsheet would run as a formula (OWASP: prefix a single quote)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _header_line() -> bytes:
    line = io.StringIO()
    csv.writer(line).writerow(CSV_HEADER)
    return line.getvalue().encode()


class _LocalFile(File):
    """A finished temporary file: FileSystemStorage moves it into place instead of copying it
    (other storages, such as S3, read it in chunks)."""

    def __init__(self, file: IO[bytes], *, path: Path) -> None:
        super().__init__(file, name=path.name)
        self._path = path

    def temporary_file_path(self) -> str:
        return str(self._path)
