"""The task ledger's cost, as ratios against bare Celery in the same run (issue: task ledger).

    DATABASE_URL=postgres://root@127.0.0.1:5432/bench_ledger \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/5 .venv/bin/python bench/ledger.py worker
    ... bench/ledger.py enqueue --transactions 1000 --rounds 3
    ... bench/ledger.py enqueue-parts --transactions 1000 --rounds 4

worker: N no-op tasks are queued first, then one prefork worker (concurrency 4, the project's
prefetch and events settings) drains them. Baseline: bench/raw_celery.py, no result backend, no
Django. Ledger: the project's worker running `tasks_app.ping`, every task queued through the port
(its TaskResult and TaskRecord), each attempt recorded and each result stored. The rate is tasks
over the time from the first start to the last end (Redis clock for the baseline, the ledger's
own attempt times for the project).

enqueue: each variant is a transaction that writes one row of its own (as a web request does) and
sends one task. The goal's baseline is bare Celery, `transaction.on_commit(send_task)` on the app of
bench/raw_celery.py (kombu's own Redis transport, no result backend), against the port's `enqueue`.
Beside it, the same `on_commit(send_task)` on the project's app (its Redis transport,
project/redis_broker.py), and the floor of any design that records the task in the caller's
transaction: that plus the record's bare INSERT (sent with the COMMIT), nothing else. Bulk: one
transaction writing 1,000 rows and sending 1,000 tasks, bare Celery's `on_commit` per task
against `enqueue_many`. Variants take turns in blocks of 20 transactions (bulk: one each), so a
busy moment falls on all alike; each round's ratio is of the summed times, and the median ratio
is printed. The publish marks the port leaves to its thread are counted at the end: none is
skipped.

enqueue-parts: where the port's time over the baseline goes, as time added per transaction: the
floor, the floor published the port's way (its publish and marks), the port, the port without its
publish marks.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
# As deployed: debug off (Django's debug cursor times and logs every query, in this process and in
# the workers, which inherit these), one shared cache, a key of its own.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("SINGLE_PROCESS", "true")
from bench.support import setup_django  # noqa: E402

setup_django()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_celery_results.models import TaskResult  # noqa: E402

from project.celery import app as project_app  # noqa: E402
from tasks_app.ledger.enqueue import QueuedTask, _insert_sql  # noqa: E402
from tasks_app.ledger.published import flush_published_marks  # noqa: E402
from tasks_app.models import TaskAttempt, TaskRecord  # noqa: E402
from tasks_app.queue import PublishOptions, get_task_queue, outbox  # noqa: E402

CONCURRENCY = 4


def worker_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONUNBUFFERED="1", **extra)


def run_worker(app_module: str, queue: str, env: dict[str, str]) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "celery", "-A", app_module, "worker", "--pool=prefork",
        f"--concurrency={CONCURRENCY}", f"--queues={queue}", "--loglevel=WARNING",
        f"--hostname=bench-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, 15)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)


def wait(condition, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def raw_round(tasks: int) -> float:
    from bench import raw_celery

    clock = raw_celery.clock
    clock.delete("bench:first", "bench:done", "bench:last")
    queue = f"bench-raw-{uuid.uuid4().hex[:6]}"
    with raw_celery.app.producer_or_acquire() as producer:
        for _ in range(tasks):
            raw_celery.app.send_task("bench.noop", queue=queue, producer=producer)
    worker = run_worker("bench.raw_celery", queue, worker_env())
    try:
        wait(lambda: int(clock.get("bench:done") or 0) >= tasks, "raw drain")
    finally:
        stop(worker)
    return tasks / (float(clock.get("bench:last")) - float(clock.get("bench:first")))


def ledger_round(tasks: int) -> float:
    queue = f"bench-ledger-{uuid.uuid4().hex[:6]}"
    ids: list[str] = []
    for start in range(0, tasks, 1000):
        with transaction.atomic():
            ids += get_task_queue().enqueue_many(
                "tasks_app.ping",
                [((), {})] * min(1000, tasks - start),
                options=PublishOptions(queue=queue),
            )
    worker = run_worker("project", queue, worker_env(CELERY_TASK_DEFAULT_QUEUE=queue))
    try:
        wait(
            lambda: TaskResult.objects.filter(task_id__in=ids, status="SUCCESS").count() >= tasks,
            "ledger drain",
        )
    finally:
        stop(worker)
    attempts = TaskAttempt.objects.filter(task_id__in=ids)
    first = min(a.started_at for a in attempts)
    last = max(a.finished_at for a in attempts)
    assert attempts.count() == tasks, "every task has exactly one attempt"
    return tasks / (last - first).total_seconds()


def bench_worker(tasks: int, rounds: int) -> None:
    raw, ledger = [], []
    for n in range(rounds):
        raw.append(raw_round(tasks))
        ledger.append(ledger_round(tasks))
        print(f"round {n + 1}: raw {raw[-1]:.0f}/s, ledger {ledger[-1]:.0f}/s", flush=True)
    r, m = statistics.median(raw), statistics.median(ledger)
    print(
        f"worker, {tasks} no-op tasks, concurrency {CONCURRENCY}: raw Celery (no result backend) "
        f"{r:.0f}/s, project worker with the ledger {m:.0f}/s: {m / r:.2f}x"
    )


def write_row() -> None:
    """The request's own row (the table made by `main`)."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_request_row (note) VALUES ('a request')")


def on_commit_send_task(app, queue: str) -> None:
    """One transaction writing its row and sending one task after commit, the bare way."""
    with transaction.atomic():
        write_row()
        transaction.on_commit(lambda: app.send_task("tasks_app.ping", queue=queue))


def enqueue_rounds(transactions: int, rounds: int) -> None:
    from bench import raw_celery

    queue = f"bench-enqueue-{uuid.uuid4().hex[:6]}"
    port = get_task_queue()

    def port_one() -> None:
        with transaction.atomic():
            write_row()
            port.enqueue("tasks_app.ping", queue=queue)

    record_sql = _insert_sql(1)
    # The record's columns after its id; a queue of their own, to tell these records from the
    # port's and delete them at the end.
    floor_values = ("[]", "{}", "tasks_app.ping", "", f"{queue}-floor", None, "{}", "service")
    floor_values += (None, "", timezone.now())

    def floor_one() -> None:
        """The least a record adds: the project's `on_commit(send_task)` plus the record's INSERT
        sent with the COMMIT, its values made up front, with no other work (no trigger, options
        or marks)."""
        with transaction.atomic():
            write_row()
            connection.execute_with_commit(record_sql, (str(uuid.uuid4()), *floor_values))
            transaction.on_commit(lambda: project_app.send_task("tasks_app.ping", queue=queue))

    def baseline_bulk() -> None:
        with transaction.atomic():
            for _ in range(1000):
                write_row()
                transaction.on_commit(
                    lambda: raw_celery.app.send_task("tasks_app.ping", queue=queue)
                )

    def port_bulk() -> None:
        with transaction.atomic():
            for _ in range(1000):
                write_row()
            port.enqueue_many("tasks_app.ping", [((), {})] * 1000, options=PublishOptions(queue))

    def timed(function, times: int) -> float:
        started = time.perf_counter()
        for _ in range(times):
            function()
        return time.perf_counter() - started

    # Small blocks, alternating which variant goes first: a busy moment of the machine falls on
    # every variant alike. Rates per round from the summed time of each variant's blocks.
    block = 20
    singles = [
        ("bare", lambda: on_commit_send_task(raw_celery.app, queue)),
        ("project", lambda: on_commit_send_task(project_app, queue)),
        ("port", port_one),
        ("floor", floor_one),
    ]
    ratios: dict[str, list[float]] = {"port": [], "port/project": [], "floor": [], "bulk": []}
    for n in range(rounds):
        spent = dict.fromkeys([name for name, _ in singles] + ["bbulk", "pbulk"], 0.0)
        for b in range(transactions // block):
            k = b % len(singles)
            for name, function in singles[k:] + singles[:k]:
                spent[name] += timed(function, block)
        for b in range(4):
            pairs = [("bbulk", baseline_bulk), ("pbulk", port_bulk)]
            for name, function in pairs if b % 2 else pairs[::-1]:
                spent[name] += timed(function, 1)
        one, bulk = transactions // block * block, 4 * 1000
        ratios["port"].append(spent["bare"] / spent["port"])
        ratios["port/project"].append(spent["project"] / spent["port"])
        ratios["floor"].append(spent["project"] / spent["floor"])
        ratios["bulk"].append(spent["bbulk"] / spent["pbulk"])
        print(
            f"round {n + 1}: bare Celery on_commit(send_task) {one / spent['bare']:.0f}/s, "
            f"port {one / spent['port']:.0f}/s ({ratios['port'][-1]:.2f}x); the project's "
            f"send_task {one / spent['project']:.0f}/s (port {ratios['port/project'][-1]:.2f}x "
            f"of it), plus the bare record INSERT {one / spent['floor']:.0f}/s "
            f"({ratios['floor'][-1]:.2f}x); bulk {bulk / spent['bbulk']:.0f} vs "
            f"{bulk / spent['pbulk']:.0f} tasks/s ({ratios['bulk'][-1]:.2f}x)",
            flush=True,
        )
    median = {name: statistics.median(values) for name, values in ratios.items()}
    print(
        f"enqueue, one row + one task per transaction, port against bare Celery's "
        f"on_commit(send_task): median {median['port']:.2f}x over {rounds} rounds; against the "
        f"project app's send_task {median['port/project']:.2f}x; that send_task plus the "
        f"record's bare INSERT with the COMMIT (the floor): {median['floor']:.2f}x of it"
    )
    print(
        f"bulk, 1,000 rows + 1,000 tasks per transaction, enqueue_many against bare Celery's "
        f"on_commit per task: median {median['bulk']:.2f}x"
    )
    flush_published_marks()
    records = TaskRecord.objects.filter(queue=queue)
    results = TaskResult.objects.filter(task_id__in=records.values("pk"))
    print(
        f"after the run: {records.filter(published_at__isnull=False).count()} of "
        f"{records.count()} port tasks marked published, {results.count()} with their result row"
    )
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
    TaskResult.objects.filter(task_id__in=records.values("pk")).delete()
    records.delete()
    TaskRecord.objects.filter(queue=f"{queue}-floor").delete()


def enqueue_parts(transactions: int, rounds: int) -> None:
    """Where the port's time over the baseline goes: the floor, the floor published the port's
    way, the port, the port without its publish marks (their hand-off replaced by nothing)."""
    queue = f"bench-enqueue-{uuid.uuid4().hex[:6]}"
    port = get_task_queue()
    record_sql = _insert_sql(1)
    values = ("[]", "{}", "tasks_app.ping", "", queue, None, "{}", "service", None, "")
    values += (timezone.now(),)
    marks = outbox.mark_published_soon

    def floor(published_the_ports_way: bool) -> None:
        with transaction.atomic():
            write_row()
            task_id = str(uuid.uuid4())
            connection.execute_with_commit(record_sql, (task_id, *values))
            if published_the_ports_way:
                task = QueuedTask(task_id, "tasks_app.ping", [], {}, queue, None, {}, values[-1])
                transaction.on_commit(
                    lambda: outbox.outbox_publish_after_commit(project_app, [task])
                )
            else:
                transaction.on_commit(lambda: project_app.send_task("tasks_app.ping", queue=queue))

    def through_port(with_marks: bool) -> None:
        outbox.mark_published_soon = marks if with_marks else lambda task_ids: None
        with transaction.atomic():
            write_row()
            port.enqueue("tasks_app.ping", queue=queue)
        outbox.mark_published_soon = marks

    variants = {
        "baseline": lambda: on_commit_send_task(project_app, queue),
        "floor": lambda: floor(False),
        "floor, published the port's way": lambda: floor(True),
        "port": lambda: through_port(True),
        "port without its marks": lambda: through_port(False),
    }
    block = 20
    for n in range(rounds):
        spent = dict.fromkeys(variants, 0.0)
        names = list(variants)
        for b in range(transactions // block):
            for name in names[b % len(names) :] + names[: b % len(names)]:
                started = time.perf_counter()
                for _ in range(block):
                    variants[name]()
                spent[name] += time.perf_counter() - started
        done = transactions // block * block
        base = spent["baseline"]
        print(
            f"round {n + 1}: baseline {base / done * 1e3:.2f} ms per transaction; "
            + "; ".join(
                f"{name} +{(spent[name] - base) / done * 1e6:.0f} us ({base / spent[name]:.2f}x)"
                for name in names[1:]
            ),
            flush=True,
        )
    flush_published_marks()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)
    records = TaskRecord.objects.filter(queue=queue)
    TaskResult.objects.filter(task_id__in=records.values("pk")).delete()
    records.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    worker = sub.add_parser("worker")
    worker.add_argument("--tasks", type=int, default=3000)
    worker.add_argument("--rounds", type=int, default=2)
    for name in ("enqueue", "enqueue-parts"):
        enqueue = sub.add_parser(name)
        enqueue.add_argument("--transactions", type=int, default=1000)
        enqueue.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        sys.exit("run it on Redis (CELERY_BROKER_URL=redis://...)")
    os.environ.setdefault("BENCH_CLOCK_URL", settings.CELERY_BROKER_URL)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_request_row (id bigserial, note text)")
    if args.what == "worker":
        bench_worker(args.tasks, args.rounds)
    elif args.what == "enqueue":
        enqueue_rounds(args.transactions, args.rounds)
    else:
        enqueue_parts(args.transactions, args.rounds)


if __name__ == "__main__":
    main()
