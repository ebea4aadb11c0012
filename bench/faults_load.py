"""Welcome emails through the full path with a worker SIGKILLed and the broker restarted mid-run.

    DATABASE_URL=postgres://root@127.0.0.1:5432/faultsb \\
    .venv/bin/python bench/faults_load.py --broker redis --count 20000 [--no-faults]

Users are created over REST (gunicorn, 2 processes) by `--clients` threads; each creation queues
a welcome email (the ledger's outbox, published after commit); two worker processes send them to
an aiosmtpd in this process; `relay_outbox --loop` publishes what a failed publish left. The
broker is a private one (a `redis-server --appendonly yes`, as in compose, or a RabbitMQ node),
so that it can be restarted. With faults: once a third of the emails arrived, one worker is
SIGKILLed and a new one started (a supervisor's restart); at two thirds the broker is stopped and
started again. The run ends when every email arrived (or after `--timeout`); Redis may lose a
message a worker took in the instant of its kill, which the email sweep (`requeue_stale_emails`,
every 10 minutes under beat) re-queues: the run calls it once when nothing moved for 30 s.
Prints the count of distinct messages at the SMTP server, the duplicates, and the time to drain.
The web uses the tests' settings (a fast password hasher): hashing is not what is measured.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
from bench.support import setup_django  # noqa: E402

setup_django()

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from accounts.models import Role, User  # noqa: E402
from tasks_app.queue.celery import CeleryTaskQueue  # noqa: E402
from tasks_app.services.emails.housekeeping import emails_requeue_stale  # noqa: E402
from tests.support import processes  # noqa: E402
from tests.support.broker import publisher_app  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.rabbitmq_server import RabbitMQServer  # noqa: E402
from tests.support.redis_server import RedisServer  # noqa: E402
from tests.support.web import WebServer  # noqa: E402
from tests.support.worker import LOG_DIR, BrokerWorker, worker_env  # noqa: E402

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.MULTILINE | re.IGNORECASE)
PASSWORD = "A-long-bench-pass-42"


class Recording:
    """Counts each message by its Message-ID, for this run's recipients only."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.ids: Counter[bytes] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0].startswith(self.prefix):
            found = MESSAGE_ID.search(envelope.original_content)
            with self.lock:
                self.ids[found.group(1) if found else b"?"] += 1
        return "250 OK"

    def distinct(self) -> int:
        with self.lock:
            return len(self.ids)


def create_users(web: WebServer, token: str, prefix: str, count: int, clients: int) -> list:
    """POST /api/users/ `count` times from `clients` threads; each request's seconds."""

    def create(i: int) -> float:
        body = {"username": f"{prefix}{i}", "email": f"{prefix}{i}@example.com"}
        status, answer, took = web.request(
            "POST", "/api/users/", {**body, "password": PASSWORD}, token=token
        )
        if status != 201:
            raise SystemExit(f"user {i}: {status} {answer}")
        return took

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(create, range(count)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", choices=["redis", "rabbitmq"], default="redis")
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--clients", type=int, default=8, help="threads creating users")
    parser.add_argument("--no-faults", dest="faults", action="store_false")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("run it on Postgres (DATABASE_URL)")
    call_command("migrate", verbosity=0)
    logging.getLogger("mail.log").setLevel(logging.WARNING)

    prefix = f"load{uuid.uuid4().hex[:6]}-"
    smtp = Recording(prefix)
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    broker = (RedisServer(persistent=True) if args.broker == "redis" else RabbitMQServer()).start()
    env = {
        "CELERY_BROKER_URL": broker.url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(controller.port),
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "30",  # what a killed worker held comes back in 30 s
        "CELERY_TASK_DEFAULT_RETRY_DELAY": "1",
    }
    app = publisher_app(broker.url)
    workers = [BrokerWorker(app, concurrency=2, loglevel="WARNING", **env) for _ in range(2)]
    web = WebServer(**env)
    relay = None
    events: list[str] = []
    swept = 0
    try:
        for worker in workers:
            worker.start()
        web.start()
        relay = processes.spawn(
            [sys.executable, "manage.py", "relay_outbox", "--loop", "--interval", "1"],
            env=worker_env(**env),
            log_path=LOG_DIR / f"relay-{prefix}log",
        )
        admin = User.objects.create_user(
            username=f"{prefix}admin",
            email=f"{prefix}ops@example.com",
            password=PASSWORD,
            role=Role.ADMIN,
        )
        token = web.login(admin.username, PASSWORD)

        started = time.monotonic()
        timings: list[float] = []
        creating = threading.Thread(
            target=lambda: timings.extend(
                create_users(web, token, prefix, args.count, args.clients)
            )
        )
        creating.start()
        faults = [1 / 3, 2 / 3] if args.faults else []
        last_change, last_seen = time.monotonic(), -1
        while smtp.distinct() < args.count:
            seen = smtp.distinct()
            if faults and seen >= faults[0] * args.count:
                at = f"{time.monotonic() - started:.0f} s, {seen} sent"
                if len(faults) == 2:
                    workers[0].kill()
                    workers.append(
                        BrokerWorker(app, concurrency=2, loglevel="WARNING", **env).start()
                    )
                    events.append(f"worker SIGKILLed at {at}")
                else:
                    broker.stop()
                    time.sleep(3)
                    broker.start()
                    events.append(f"broker restarted at {at} (down 3 s)")
                faults.pop(0)
            if seen != last_seen:
                last_change, last_seen = time.monotonic(), seen
            elif not creating.is_alive() and time.monotonic() - last_change > 30 and not swept:
                swept = emails_requeue_stale(
                    older_than=timedelta(seconds=30), task_queue=CeleryTaskQueue(celery_app=app)
                )
                events.append(f"the sweep re-queued {swept} at {seen} sent")
                last_change = time.monotonic()
            if time.monotonic() - started > args.timeout:
                break
            time.sleep(0.5)
        drained = time.monotonic() - started
        creating.join()
        time.sleep(5)  # a late duplicate still on its way is counted too
    finally:
        if relay is not None:
            processes.stop(relay)
        web.stop()
        for worker in workers:
            worker.stop(timeout=30)
        broker.cleanup()
        controller.stop()

    distinct = smtp.distinct()
    duplicates = sum(n - 1 for n in smtp.ids.values())
    print(
        f"\n{args.broker}, {'with' if args.faults else 'without'} faults; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for event in events:
        print(f"- {event}")
    print("\n| emails | distinct at SMTP | duplicates | drain s | emails/s | slowest request s |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.count} | {distinct} | {duplicates} | {drained:.0f} | {distinct / drained:.0f} "
        f"| {max(timings, default=0):.2f} |"
    )
    if distinct != args.count:
        raise SystemExit(f"{args.count - distinct} emails did not arrive")


if __name__ == "__main__":
    main()
