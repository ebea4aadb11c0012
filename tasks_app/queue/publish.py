"""Sending one task's message to the broker, as `Celery.send_task` sends it, for less work.

Every task the port records is published from here (after its commit, or by the relay), so this
is most of what an enqueue costs beyond its record (docs/benchmarks.md, the ledger's enqueue):

- Producers are kept between publishes, one thread using each at a time. Taking one from
  Celery's pool and giving it back costs about 20 µs a task, and so does declaring the task's
  queue again (kombu finds it in its cache of what this connection declared, after copying the
  queue and hashing its description): a kept producer declares each queue once. A producer whose
  publish failed is closed, not kept; a forked child starts with none of its parent's.
- A task with no ETA and no expiry, sent from outside a task, is built and sent with Celery's
  own message API (`app.amqp.create_task_message`, `app.amqp.send_task_message`) as `send_task`
  builds and sends it, less the rest of `send_task`'s work (about 20 µs a task: settings read on
  every call, a result object the port does not use). Any other task goes through `send_task`
  itself (native delayed delivery for an ETA on quorum queues, an expiry's broker TTL, the parent
  task's ids). tests/tasks_app/queue/test_publish.py asserts that both send the same message for
  every task of the project.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from celery import Celery
from kombu import Producer

logger = logging.getLogger(__name__)

# One try per call: a request must not wait while the broker is down; the relay tries again.
# https://docs.celeryq.dev/en/stable/userguide/calling.html#message-sending-retry
PUBLISH_RETRY_POLICY = {"max_retries": 0}


@dataclass
class Publisher:
    """A kept producer, and the queues it has declared on its connection."""

    producer: Producer
    declared: set[str] = field(default_factory=set)


_idle: weakref.WeakKeyDictionary[Celery, queue.SimpleQueue[Publisher]] = weakref.WeakKeyDictionary()
os.register_at_fork(after_in_child=_idle.clear)  # a parent's connections are not the child's


@contextmanager
def kept_publisher(app: Celery) -> Iterator[Publisher]:
    """A publisher to `app`'s broker for this thread's use until the block ends."""
    idle = _idle.get(app) or _idle.setdefault(app, queue.SimpleQueue())
    try:
        publisher = idle.get_nowait()
    except queue.Empty:
        publisher = Publisher(app.amqp.Producer(app.connection_for_write(), auto_declare=False))
    try:
        yield publisher
    except BaseException:
        _close(publisher.producer)  # its connection may be broken: the next one opens anew
        raise
    idle.put(publisher)


def publish_task(
    app: Celery,
    publisher: Publisher,
    *,
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    task_id: str,
    queue: str | None,
    eta: datetime | None,
    options: dict[str, Any],
) -> None:
    """Send one task under the id the caller already has, with its publish options."""
    producer = publisher.producer
    if eta is not None or "expires" in options or app.current_worker_task is not None:
        app.send_task(
            name, args=args, kwargs=kwargs, task_id=task_id, queue=queue, eta=eta, retry=True,
            retry_policy=PUBLISH_RETRY_POLICY, producer=producer, **options,
        )  # fmt: skip
        return
    amqp = app.amqp
    task_type = app.tasks.get(name)
    if task_type is not None:  # the task's own options (time limits...), as send_task merges them
        options = {**_task_options(task_type), **options}
    time_limit = options.pop("time_limit", None)
    soft_time_limit = options.pop("soft_time_limit", None)
    options.pop("expires", None)
    ignore_result = options.pop("ignore_result", None)
    options = amqp.router.route(options | {"queue": queue}, name, args, kwargs, task_type)
    message = amqp.create_task_message(
        task_id, name, args, kwargs,
        reply_to=app.thread_oid, time_limit=time_limit, soft_time_limit=soft_time_limit,
        create_sent_event=app.conf.task_send_sent_event, ignore_result=ignore_result, **options,
    )  # fmt: skip
    destination = getattr(options.get("queue"), "name", None)
    declare = [] if destination in publisher.declared else None  # None: Celery declares it
    with producer.connection._reraise_as_library_errors():
        if not ignore_result:
            app.backend.on_task_call(producer, task_id)
        amqp.send_task_message(
            producer, name, message, retry=True, retry_policy=PUBLISH_RETRY_POLICY,
            declare=declare, **options,
        )  # fmt: skip
    if destination is not None:
        publisher.declared.add(destination)


@functools.cache
def _task_options(task_type) -> dict[str, Any]:
    """The publish options a task sets itself (`send_task` merges those that are not None)."""
    return {k: v for k, v in task_type._get_exec_options().items() if v is not None}


def _close(producer: Producer) -> None:
    try:
        producer.connection.close()
    except Exception:  # closing what already failed
        logger.debug("closing a failed producer's connection", exc_info=True)
