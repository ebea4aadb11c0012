"""CSV reports of users: request one, generate it (streaming, constant memory), expire old ones.

The export never holds the rows in memory: on Postgres `COPY (SELECT ...) TO STDOUT` streams the
finished CSV cells (psycopg 3) into a temporary file; elsewhere a chunked ORM iterator feeds
`csv.writer`. The file is then handed to Django's storage, and the task's result only points at it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import select
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from uuid import UUID

import psycopg
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from psycopg import ClientCursor, pq

from accounts.models import Role
from tasks_app.models import UserReport
from tasks_app.queue import TaskQueue, get_task_queue
from tasks_app.selectors.reports import (
    CSV_HEADER,
    FORMULA_PREFIXES,
    report_rows,
    report_rows_postgres_sql,
)

logger = logging.getLogger(__name__)

REPORT_TASK = "tasks_app.generate_user_report"
REPORT_FILTERS = ("is_active", "role", "created_after", "created_before")
# A running report older than the hard time limit plus this margin has lost its worker.
STALE_GRACE = timedelta(seconds=60)

ProgressCallback = Callable[[int, int | None], None]
Status = UserReport.Status


# --- Filters -------------------------------------------------------------------------------------


def report_filters_validate(filters: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalised, JSON-ready filters, or a ValidationError naming every bad key.

    Accepts what the entry points send: booleans or "true"/"false"/"1"/"0" for `is_active`, a role
    value in any case, ISO 8601 dates or datetimes (naive ones are in settings.TIME_ZONE).
    Absent or null values mean "no filter".
    """
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise ValidationError("Filters must be an object.", code="invalid")
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for key in sorted(set(filters) - set(REPORT_FILTERS)):
        errors[key] = [f"Unknown filter; use one of: {', '.join(REPORT_FILTERS)}."]
    parsers: dict[str, Callable[[Any], Any]] = {
        "is_active": _parse_bool,
        "role": _parse_role,
        "created_after": _parse_moment,
        "created_before": _parse_moment,
    }
    for key, parse in parsers.items():
        value = filters.get(key)
        if value is None or value == "":
            continue
        try:
            clean[key] = parse(value)
        except ValueError as exc:
            errors[key] = [str(exc)]
    after, before = clean.get("created_after"), clean.get("created_before")
    if after and before and after >= before:
        errors["created_before"] = ["Must be later than created_after."]
    if errors:
        raise ValidationError(errors)
    for key in ("created_after", "created_before"):
        if key in clean:
            clean[key] = clean[key].isoformat()
    return clean


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "1", "yes"}:
        return True
    if text in {"false", "0", "no"}:
        return False
    raise ValueError("Must be true or false.")


def _parse_role(value: Any) -> str:
    role = str(value).strip().upper()
    if role not in Role.values:
        raise ValueError(f"Must be one of: {', '.join(Role.values)}.")
    return role


def _parse_moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            moment = parse_datetime(text) or datetime.combine(parse_date(text), datetime.min.time())
        except (TypeError, ValueError):
            raise ValueError("Must be an ISO 8601 date or datetime, e.g. 2025-01-31.") from None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


# --- Requesting ----------------------------------------------------------------------------------


def report_create(*, requested_by: Any | None, filters: Mapping[str, Any] | None) -> UserReport:
    """A pending report row; nothing is enqueued (the foreground command runs it itself)."""
    return UserReport.objects.create(
        requested_by=requested_by, filters=report_filters_validate(filters)
    )


def report_request(
    *,
    requested_by: Any | None,
    filters: Mapping[str, Any] | None,
    task_queue: TaskQueue | None = None,
) -> UserReport:
    """Create the report row and enqueue its export; the message is published after commit.

    Validation happens first, so a bad filter never leaves a row or a message behind.
    """
    queue = task_queue or get_task_queue()
    with transaction.atomic():
        report = report_create(requested_by=requested_by, filters=filters)
        report.task_id = queue.enqueue(REPORT_TASK, report_id=str(report.pk))
        report.save(update_fields=["task_id"])
    return report


# --- Generating ----------------------------------------------------------------------------------


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
        tmp.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb", buffering=1 << 20) as out:
            out.write(_header_line())
            if connection.vendor == "postgresql":
                rows = _export_postgres(report.filters, out, progress)
            else:
                rows = _export_portable(report.filters, out, progress)
        with tmp.open("rb") as content:
            name = f"users-{started:%Y%m%d-%H%M%S}-{str(report.pk)[:8]}.csv"
            report.file.save(name, _LocalFile(content, path=tmp), save=False)
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


def report_fail(*, report_id: UUID | str, error: str) -> bool:
    """Mark a pending or running report failed; False if it had already finished or failed."""
    _reconnect_if_interrupted()
    return bool(
        UserReport.objects.filter(pk=report_id, status__in=[Status.PENDING, Status.RUNNING]).update(
            status=Status.FAILED, error=error, finished_at=timezone.now()
        )
    )


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
        rows = _copy_out(pg.pgconn, query, out, progress)
    finally:
        export_db.close()  # also ends a COPY interrupted by a time limit
    progress(rows)
    return rows


def _copy_out(pgconn: pq.abc.PGconn, query: bytes, out: IO[bytes], progress: _Progress) -> int:
    """Run a COPY ... TO STDOUT and write its data to `out`; return the number of rows.

    Drives libpq directly: psycopg's `Copy` iterator runs a generator and a wait per row, which
    cost about 20% more here. The server sends one CopyData message per row, so counting messages
    counts rows without parsing the CSV. Waits happen in `select()`, where a signal (Celery's soft
    time limit) interrupts them.
    """
    pgconn.send_query(query)
    _check(_next_result(pgconn), pq.ExecStatus.COPY_OUT, pgconn)
    rows, next_save = 0, progress.every
    get_copy_data, write = pgconn.get_copy_data, out.write
    while True:
        size, data = get_copy_data(1)  # 1: never block inside libpq
        if size > 0:
            write(data)
            rows += 1
            if rows == next_save:
                progress(rows)
                next_save += progress.every
        elif size == 0:
            _wait_readable(pgconn)
        elif size == -1:
            break
        else:
            raise psycopg.OperationalError(pgconn.get_error_message())
    _check(_next_result(pgconn), pq.ExecStatus.COMMAND_OK, pgconn)
    while _next_result(pgconn) is not None:
        pass
    return rows


def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while pgconn.is_busy():
        _wait_readable(pgconn)
    return pgconn.get_result()


def _wait_readable(pgconn: pq.abc.PGconn) -> None:
    select.select([pgconn.socket], [], [])
    pgconn.consume_input()


def _check(result: pq.abc.PGresult | None, expected: pq.ExecStatus, pgconn: pq.abc.PGconn) -> None:
    if result is None or result.status != expected:
        message = result.get_error_message() if result is not None else ""
        raise psycopg.DatabaseError(message or pgconn.get_error_message() or "COPY failed")


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


def _reconnect_if_interrupted() -> None:
    """A time limit can interrupt a query mid-flight and leave the connection busy; start afresh."""
    if connection.connection is not None and not connection.is_usable():
        connection.close()


# --- Housekeeping --------------------------------------------------------------------------------


def reports_fail_stale(*, now: datetime | None = None) -> int:
    """Fail running reports whose worker is gone (killed, OOM, host lost); drop their partial files.

    No attempt can run past the hard time limit (the pool kills it), so a report still running
    after the limit plus a margin has no live worker: it will never finish on its own.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.REPORT_TIME_LIMIT) - STALE_GRACE
    stale = list(
        UserReport.objects.filter(status=Status.RUNNING, started_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    failed = 0
    for report_id in stale:
        report_tmp_path(report_id).unlink(missing_ok=True)
        failed += UserReport.objects.filter(pk=report_id, status=Status.RUNNING).update(
            status=Status.FAILED,
            finished_at=now,
            error=(
                f"The worker stopped without finishing (killed or lost); no attempt can run longer "
                f"than {settings.REPORT_TIME_LIMIT:g} s. Request the report again."
            ),
        )
    if failed:
        logger.warning("marked %s stale running report(s) failed", failed)
    return failed


def report_delete(*, report: UserReport) -> None:
    """Delete a report and its file (Django deletes rows, never the files they point to)."""
    if report.file:
        report.file.delete(save=False)
    report_tmp_path(report.pk).unlink(missing_ok=True)
    report.delete()


def reports_expire(*, now: datetime | None = None) -> int:
    """Delete reports (file, then row) created more than REPORT_RETENTION_DAYS ago."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.REPORT_RETENTION_DAYS)
    expired = 0
    for report in UserReport.objects.filter(created_at__lt=cutoff).only("pk", "file").iterator():
        report_delete(report=report)
        expired += 1
    if expired:
        logger.info("expired %s report(s) older than %s", expired, cutoff.isoformat())
    return expired
