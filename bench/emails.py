"""2,000 emails through the real pipeline vs 2,000 no-op tasks on the same worker, in rounds.

    DATABASE_URL=postgres://root@127.0.0.1:5432/hmailb \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/3 .venv/bin/python bench/emails.py --count 2000

Pipeline per email: `email_queue` (EmailLog row + outbox row + publish after commit + outbox
delete) -> Redis -> worker: claim (conditional UPDATE), SMTP to a local aiosmtpd, mark sent, result
row in django-celery-results. The no-op is `tasks_app.ping` (its result stored the same way).
One prefork worker (`--concurrency`, 4 by default) serves both workloads, in `--rounds` rounds
(no-op then email, 3 by default: on a shared machine the load drifts, so each round's ratio compares
neighbours and the median is the result). Each run first enqueues
all tasks while the worker does not consume their queue (enqueue rate alone), then tells it to
consume and times the drain until the last result / sent row (the worker's rate alone).
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
from django_celery_results.models import TaskResult  # noqa: E402

from project.celery import app  # noqa: E402
from tasks_app.models import EmailLog  # noqa: E402
from tasks_app.services.emails.queueing import email_queue  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.worker import CeleryWorker, private_queue  # noqa: E402


class Counting:
    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)  # the poll is a COUNT over the batch: keep it off the worker's CPU


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the worker and its pool), from /proc:
    unlike wall time, it hardly depends on what else the shared machine is running."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    ticks = 0
    for process in [pid, *map(int, children)]:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def drain(worker: CeleryWorker, queue: str, done, count: int) -> tuple[float, float]:
    """Let the worker consume `queue`; seconds until `done()` reaches `count`, and the worker's
    CPU seconds meanwhile."""
    cpu, started = cpu_seconds(worker.process.pid), time.perf_counter()
    app.control.add_consumer(queue, destination=[worker.hostname], reply=True)
    wait(lambda: done() >= count, 600, f"{count} tasks on {queue}")
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(worker.process.pid) - cpu
    app.control.cancel_consumer(queue, destination=[worker.hostname], reply=True)
    return elapsed, cpu


def run_noop(worker: CeleryWorker, count: int) -> tuple[float, float, float]:
    queue = f"bench-noop-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    ids = [app.send_task("tasks_app.ping", queue=queue).id for _ in range(count)]
    enqueued = time.perf_counter() - started
    done = TaskResult.objects.filter(task_id__in=ids, status="SUCCESS")
    return enqueued, *drain(worker, queue, done.count, count)


def run_emails(worker: CeleryWorker, count: int, smtp: Counting) -> tuple[float, float, float]:
    smtp.count = 0
    private_queue(settings, "emails", queue := f"bench-email-{uuid.uuid4().hex[:6]}")
    started = time.perf_counter()
    ids = [
        email_queue(
            to=f"bench-{i}@example.com", subject=f"bench {i}", body_html=f"<p>Hello {i}</p>"
        ).pk
        for i in range(count)
    ]
    enqueued = time.perf_counter() - started
    sent = EmailLog.objects.filter(pk__in=ids, status=EmailLog.Status.SENT)
    drained, cpu = drain(worker, queue, lambda: min(sent.count(), smtp.count), count)
    assert smtp.count == count, f"the SMTP server got {smtp.count} messages for {count} emails"
    return enqueued, drained, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4, help="prefork pool processes")
    parser.add_argument("--rounds", type=int, default=3, help="no-op then email, this many times")
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("run it on Postgres and Redis (DATABASE_URL, CELERY_BROKER_URL)")
    call_command("migrate", verbosity=0)
    EmailLog.objects.filter(subject__startswith="bench ").delete()

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every command
    smtp = Counting()
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    # Listens on an idle queue until `drain` points it at a workload's queue.
    worker = CeleryWorker(
        concurrency=args.concurrency,
        queues=f"bench-idle-{uuid.uuid4().hex[:6]}",
        loglevel="WARNING",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(controller.port),
    ).start()
    rounds = []
    try:
        run_noop(worker, 50)  # warm up the pool's processes and connections
        for _ in range(args.rounds):
            noop = run_noop(worker, args.count)
            rounds.append((noop, run_emails(worker, args.count, smtp)))
    finally:
        worker.stop(timeout=60)
        controller.stop()

    n = args.count
    load = os.getloadavg()[0]
    print(
        f"\n{n} tasks; worker concurrency {args.concurrency} (prefork); "
        f"{os.cpu_count()} CPUs, load average {load:.1f}\n"
    )
    print(
        "| round | workload | enqueue s | enqueued /s | worker drain s | worker tasks /s "
        "| worker CPU ms/task |"
    )
    print("|---|---|---|---|---|---|---|")
    for number, (noop, emails) in enumerate(rounds, 1):
        for label, (enqueued, drained, cpu) in [
            ("no-op task (`tasks_app.ping`, `send_task`)", noop),
            ("email to aiosmtpd (`email_queue` -> `tasks_app.send_email`)", emails),
        ]:
            print(
                f"| {number} | {label} | {enqueued:.2f} | {n / enqueued:.0f} | {drained:.2f} "
                f"| {n / drained:.0f} | {cpu / n * 1000:.1f} |"
            )
    ratios = [noop[1] / emails[1] for noop, emails in rounds]
    print(
        f"\nemail / no-op worker rate by round: {', '.join(f'{r:.2f}x' for r in ratios)}; "
        f"median {statistics.median(ratios):.2f}x (goal >= 0.5x)"
    )
    cpu_ratios = [noop[2] / emails[2] for noop, emails in rounds]
    print(
        "no-op / email worker CPU per task by round: "
        f"{', '.join(f'{r:.2f}x' for r in cpu_ratios)}; median {statistics.median(cpu_ratios):.2f}x"
    )


if __name__ == "__main__":
    main()
