"""The baseline of bench/ledger.py: a bare Celery app with no result backend and no Django.

The enqueue's baseline sends with it. The worker's runs its one task, which does what
`tasks_app.ping` does and, to time the drain, one pipelined round trip to Redis (first start,
count, last end).
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

app = Celery("raw", broker=os.environ["CELERY_BROKER_URL"])
app.conf.update(
    # kombu's own, also in a process that loaded the project (whose redis:// URLs name
    # project/redis_broker.py).
    broker_transport="kombu.transport.redis:Transport",
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    worker_prefetch_multiplier=1,  # the project's worker and client settings
    worker_send_task_events=True,
    task_send_sent_event=False,
    worker_hijack_root_logger=False,
)
clock = redis.Redis.from_url(os.environ["BENCH_CLOCK_URL"])


@app.task(name="bench.noop", bind=True)
def noop(self) -> dict[str, str]:
    now = time.time()
    pipe = clock.pipeline(transaction=False)
    pipe.set("bench:first", now, nx=True).incr("bench:done").set("bench:last", now)
    pipe.execute()
    return {"status": "pong", "worker": self.request.hostname}
