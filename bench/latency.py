"""Welcome email latency, user creation to aiosmtpd: quiet, and while reports fill their worker.

    DJANGO_DEBUG=true DATABASE_URL=postgres://root@127.0.0.1:5432/queues_bench \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/latency.py --emails 40

The workers have compose's shape, on private queue names: a reports worker (2 processes, queue
`reports`) and a worker for `emails` and `default` (CELERY_WORKER_CONCURRENCY processes). Users are
created one at a time; each latency is from the call to the arrival of its welcome email. The load
is real exports of --users seeded users, queued several times over what the reports worker has
slots for. The last row is the shape before routes: one queue, one worker of 4 processes, the
same load.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.support import setup_django  # noqa: E402

setup_django()

from aiosmtpd.controller import Controller  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import user_create  # noqa: E402
from tasks_app.models import UserReport  # noqa: E402
from tasks_app.services.reports.requests import report_request  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.worker import CeleryWorker, private_queue  # noqa: E402

REPORT_SLOTS = 2  # compose's celery-worker-reports
PREFIX = "latency-"


class Arrivals:
    """aiosmtpd handler: when each recipient's message arrived (this process's monotonic clock)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.at[rcpt] = time.monotonic()
        return "250 OK"


def seed_users(size: int) -> None:
    """Top the users up to `size` in one statement (the exports' rows)."""
    missing = size - User.objects.count()
    if missing <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO accounts_user (id, password, username, email, role, is_active, created_at)
            SELECT gen_random_uuid(), '!', 'seed' || i || %(tag)s,
                   'seed' || i || %(tag)s || '@example.com', 'USER', true,
                   timestamptz '2020-01-01' + i * interval '1 second'
            FROM generate_series(1, %(missing)s) AS i
            """,
            {"tag": f"-{uuid.uuid4().hex[:6]}", "missing": missing},
        )
        cursor.execute("VACUUM ANALYZE accounts_user")


def welcome_latencies(arrivals: Arrivals, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        email = f"{PREFIX}{uuid.uuid4().hex[:10]}@example.com"
        started = time.monotonic()
        user_create(username=email.split("@")[0], email=email, password="x-Secret-123")
        deadline = started + 120
        while email not in arrivals.at:
            if time.monotonic() > deadline:
                raise SystemExit(f"no welcome email for {email} after 120 s")
            time.sleep(0.005)
        latencies.append(arrivals.at[email] - started)
    return latencies


def run(label: str, shape: str, *, arrivals: Arrivals, load: int, count: int, port: int) -> tuple:
    """Start the workers of `shape` ("routed" or "one queue"), queue `load` reports, time emails."""
    suffix = uuid.uuid4().hex[:6]
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)}
    if shape == "routed":
        for kind in ("default", "reports", "emails"):
            env.update(private_queue(settings, kind, f"bench-{kind}-{suffix}"))
        names = settings.TASK_QUEUES
        shapes = [(names["reports"], REPORT_SLOTS), (f"{names['emails']},{names['default']}", None)]
    else:
        for kind in ("default", "reports", "emails"):
            env.update(private_queue(settings, kind, f"bench-one-{suffix}"))
        shapes = [(f"bench-one-{suffix}", 4)]
    workers = [
        CeleryWorker(queues=queues, concurrency=slots, loglevel="WARNING", **env).start()
        for queues, slots in shapes
    ]
    try:
        welcome_latencies(arrivals, 3)  # warm up the pool's processes and connections
        reports = [report_request(requested_by=None, filters={}).pk for _ in range(load)]
        latencies = welcome_latencies(arrivals, count)
        unfinished = UserReport.objects.filter(pk__in=reports).exclude(
            status__in=[UserReport.Status.COMPLETED, UserReport.Status.FAILED]
        )
        left = unfinished.count()
        while unfinished.exists():  # let the load finish before the workers stop
            time.sleep(0.5)
    finally:
        for worker in workers:
            worker.stop(timeout=120)
    quantiles = statistics.quantiles(latencies, n=20)
    return label, load, left, statistics.median(latencies), quantiles[18], max(latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=40, help="welcome emails per run")
    parser.add_argument("--users", type=int, default=1_000_000, help="rows in each report")
    parser.add_argument("--reports", type=int, default=40, help="reports queued per loaded run")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("run it on Postgres and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    call_command("migrate", verbosity=0)
    seed_users(args.users)

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    arrivals = Arrivals()
    controller = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    controller.start()
    runs = [
        ("routed, quiet", "routed", 0),
        ("routed, reports queued", "routed", args.reports),
        ("one queue (before routes), reports queued", "one queue", args.reports),
    ]
    try:
        rows = [
            run(label, shape, arrivals=arrivals, load=load, count=args.emails, port=controller.port)
            for label, shape, load in runs
        ]
    finally:
        controller.stop()
        User.objects.filter(username__startswith=PREFIX).delete()

    print(
        f"\n{args.emails} welcome emails per run, one at a time; reports of {args.users:,} users; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| run | reports queued | still unfinished after the emails | p50 s | p95 s | max s |")
    print("|---|---|---|---|---|---|")
    for label, load, left, p50, p95, worst in rows:
        print(f"| {label} | {load} | {left} | {p50:.3f} | {p95:.3f} | {worst:.3f} |")


if __name__ == "__main__":
    main()
