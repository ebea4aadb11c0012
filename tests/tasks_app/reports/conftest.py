"""Fixtures for the report tests: personas, bulk-seeded users and reading a report back."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from accounts.models import Role, User
from tasks_app.models import UserReport
from tests.support.polling import wait_for

BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def seed_users(db) -> Callable[..., list[User]]:
    """`seed_users(n)`: n users in one bulk insert, one second apart from BASE_TIME, with every
    role, both activity states and some microseconds (the ISO format drops zero microseconds)."""

    def seed(count: int, *, start: int = 0, usernames: list[str] | None = None) -> list[User]:
        roles = [Role.USER, Role.USER, Role.ADMIN, Role.SUPER_ADMIN]
        users = [
            User(
                username=usernames[i] if usernames else f"user{start + i:06d}",
                email=f"user{start + i}@example.com",
                password="!",
                role=roles[(start + i) % len(roles)],
                is_active=(start + i) % 3 != 0,
                created_at=BASE_TIME + timedelta(seconds=start + i, microseconds=(start + i) % 5),
            )
            for i in range(count)
        ]
        return User.objects.bulk_create(users, batch_size=5000)

    return seed


def expected_rows(users: list[User]) -> list[list[str]]:
    """The cells the seed's Python csv writer would produce, oldest first, injection neutralised."""

    def cell(name: str) -> str:
        return "'" + name if name[:1] in ("=", "+", "-", "@", "\t", "\r") else name

    ordered = sorted(users, key=lambda u: (u.created_at, str(u.pk)))
    return [
        [str(u.pk), cell(u.username), u.role, str(u.is_active), u.created_at.isoformat()]
        for u in ordered
    ]


def read_report(report: UserReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the report's file, read back with Python's csv reader."""
    with report.file.open("rb") as file:
        rows = list(csv.reader(io.TextIOWrapper(file, encoding="utf-8", newline="")))
    return rows[0], rows[1:]


def wait_finished(report: UserReport, timeout: float = 60) -> UserReport:
    def finished():
        report.refresh_from_db()
        return report.status in (UserReport.Status.COMPLETED, UserReport.Status.FAILED)

    wait_for(finished, timeout=timeout, what=f"report {report.pk} to finish")
    return report


@pytest.fixture
def progress_log(transactional_db) -> Iterator[Callable[[], list[tuple[int, str]]]]:
    """Record every write of rows_written with a database trigger, whichever process writes it:
    the only way to see progress of an export that lasts a fraction of a second."""
    with connection.cursor() as cursor:
        serial = "bigserial" if connection.vendor == "postgresql" else "integer"
        cursor.execute(
            f"CREATE TABLE report_progress_log (n {serial} PRIMARY KEY, rows_written bigint, "
            "status text)"
        )
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION report_progress_log_f() RETURNS trigger AS $$ BEGIN "
                "INSERT INTO report_progress_log (rows_written, status) "
                "VALUES (NEW.rows_written, NEW.status); "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER report_progress_log_t AFTER UPDATE OF rows_written "
                "ON tasks_app_userreport FOR EACH ROW EXECUTE FUNCTION report_progress_log_f()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER report_progress_log_t AFTER UPDATE OF rows_written "
                "ON tasks_app_userreport BEGIN "
                "INSERT INTO report_progress_log (rows_written, status) "
                "VALUES (NEW.rows_written, NEW.status); END"
            )

    def read() -> list[tuple[int, str]]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rows_written, status FROM report_progress_log ORDER BY n")
            return [(int(rows), status) for rows, status in cursor.fetchall()]

    yield read
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER report_progress_log_t ON tasks_app_userreport")
            cursor.execute("DROP FUNCTION report_progress_log_f()")
        else:
            cursor.execute("DROP TRIGGER report_progress_log_t")
        cursor.execute("DROP TABLE report_progress_log")
