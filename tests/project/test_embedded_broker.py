"""The embedded broker survives several processes using it at once (project/broker.py).

With stock kombu, two processes that create an exchange table at the same moment corrupt it
(treeverse/dvc-task#73), and a consumer can read a message file before its writer has written it
(celery/kombu#1551): the pings below then go unanswered or fail within a few rounds, and the
messages test fails about one run in two.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path

import pytest
from celery import Celery
from kombu import Consumer, Queue

from tests.support.worker import CeleryWorker

TRANSPORT = "project.broker:Transport"  # the settings' choice for filesystem://
ROUNDS, PINGERS = 20, 6
QUEUE, PRODUCERS, CONSUMERS, MESSAGES = "race", 2, 4, 1500

pytestmark = pytest.mark.django_db


def process_context():
    """Children start from a clean server process, not forked from this one: other threads of
    the test process (a live server, a pool) may hold locks that a forked child would wait on
    forever. The server imports this module once; each child is a fork of it."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def embedded_app(broker_dir: Path) -> Celery:
    """An app on the filesystem broker in `broker_dir`, laid out as project/settings.py does."""
    app = Celery("pinger", set_as_current=False)
    # Not broker_url: Celery lets the CELERY_BROKER_URL variable win over it; these two it doesn't.
    app.conf.broker_read_url = app.conf.broker_write_url = "filesystem://localhost//"
    app.conf.broker_transport = TRANSPORT
    app.conf.broker_transport_options = {
        "data_folder_in": str(broker_dir / "queue"),
        "data_folder_out": str(broker_dir / "queue"),
        "control_folder": str(broker_dir / "control"),
        "polling_interval": 0.05,
    }
    return app


def ping_at_once(broker_dir: Path, hostname: str, start, results) -> None:
    """One pinging process (`celery inspect ping`, a health check): its own app and connection,
    released together with the others by `start`."""
    app = embedded_app(broker_dir)
    start.wait()
    try:
        results.put(app.control.ping(destination=[hostname], timeout=10))
    except Exception as exc:  # reported to the test, which names it
        results.put(repr(exc))


def exchange_tables(broker_dir: Path) -> dict[str, object]:
    """Every exchange table as JSON (a list of [routing key, pattern, queue]), or the error."""
    tables: dict[str, object] = {}
    for file in sorted((broker_dir / "control").glob("*.exchange")):
        text = file.read_text()
        try:
            tables[file.name] = json.loads(text)
        except ValueError as exc:
            tables[file.name] = f"{exc}: {text!r}"
    return tables


def test_processes_pinging_at_once_keep_the_exchange_tables_valid_and_all_get_replies(tmp_path):
    broker_dir = tmp_path / "broker"
    for folder in ("queue", "control"):
        (broker_dir / folder).mkdir(parents=True)
    app = embedded_app(broker_dir)
    worker = CeleryWorker(
        app=app, concurrency=1, CELERY_BROKER_URL="filesystem://localhost//", VAR_DIR=str(tmp_path)
    ).start()
    reply_table = broker_dir / "control" / "reply.celery.pidbox.exchange"
    fork = process_context()
    try:
        assert ".> transport:   filesystem://localhost//" in worker.log()  # the URL a user sees
        for round_ in range(ROUNDS):
            reply_table.unlink(missing_ok=True)  # each round, the pingers create it together
            start, results = fork.Barrier(PINGERS), fork.Queue()
            args = (broker_dir, worker.hostname, start, results)
            pingers = [fork.Process(target=ping_at_once, args=args) for _ in range(PINGERS)]
            for pinger in pingers:
                pinger.start()
            replies = [results.get(timeout=60) for _ in pingers]
            for pinger in pingers:
                pinger.join(timeout=10)

            expected = [[{worker.hostname: {"ok": "pong"}}]] * PINGERS
            assert replies == expected, f"round {round_ + 1}: {replies}"
            tables = exchange_tables(broker_dir)
            assert tables["reply.celery.pidbox.exchange"] == [], f"round {round_ + 1}: {tables}"
            assert all(isinstance(t, list) for t in tables.values()), tables
    finally:
        worker.stop()


def produce(broker_dir: Path, producer: int, start) -> None:
    with embedded_app(broker_dir).connection_for_write() as connection:
        queue = connection.SimpleQueue(QUEUE)
        start.wait()
        for n in range(MESSAGES):
            queue.put({"message": f"{producer}-{n}"})


def consume(broker_dir: Path, start, results) -> None:
    """Take messages until the queue has stayed empty for a second; report them (or the error)."""
    received: list[str] = []
    with embedded_app(broker_dir).connection_for_read() as connection:
        queue = connection.SimpleQueue(QUEUE)
        start.wait()
        try:
            while True:
                message = queue.get(timeout=1)
                received.append(message.payload["message"])
                message.ack()
        except queue.Empty:
            results.put(received)
        except Exception as exc:
            results.put(repr(exc))


def test_messages_published_and_consumed_by_processes_at_once_arrive_whole_and_once(tmp_path):
    broker_dir = tmp_path / "broker"
    for folder in ("queue", "control"):
        (broker_dir / folder).mkdir(parents=True)
    fork = process_context()
    start, results = fork.Barrier(PRODUCERS + CONSUMERS), fork.Queue()
    processes = [
        fork.Process(target=produce, args=(broker_dir, producer, start))
        for producer in range(PRODUCERS)
    ] + [fork.Process(target=consume, args=(broker_dir, start, results)) for _ in range(CONSUMERS)]
    for process in processes:
        process.start()
    received = [results.get(timeout=60) for _ in range(CONSUMERS)]
    for process in processes:
        process.join(timeout=10)

    assert all(isinstance(r, list) for r in received), received
    sent = [f"{p}-{n}" for p in range(PRODUCERS) for n in range(MESSAGES)]
    assert sorted(m for r in received for m in r) == sorted(sent)


def test_a_table_corrupted_by_stock_kombu_is_repaired_on_the_next_bind(tmp_path):
    broker_dir = tmp_path / "broker"
    for folder in ("queue", "control"):
        (broker_dir / folder).mkdir(parents=True)
    table = broker_dir / "control" / f"{QUEUE}.exchange"
    table.write_text(f'[["{QUEUE}", "", "older"]] ["{QUEUE}", "", "lost"]]')  # as var/ had it

    with embedded_app(broker_dir).connection_for_write() as connection:
        connection.SimpleQueue(QUEUE).put({"message": "after the repair"})

    assert json.loads(table.read_text()) == [[QUEUE, "", QUEUE], [QUEUE, "", "older"]]
    assert len(list((broker_dir / "queue").glob(f"*.{QUEUE}.msg"))) == 1


def test_a_wait_for_messages_lasts_its_timeout_unless_the_worker_is_told_to_stop(tmp_path):
    """Celery's worker loop on this transport waits 2 s at a time and looks whether it should
    stop only in between; the transport ends such a wait within DRAIN_WAIT (0.25 s) of a stop,
    and any other wait (a ping collecting replies) lasts its whole timeout, as kombu's does."""
    from celery.worker import state

    for folder in ("queue", "control"):
        (tmp_path / folder).mkdir()

    def wait_for_nothing(timeout: float) -> float:
        with (
            embedded_app(tmp_path).connection_for_read() as connection,
            Consumer(connection, [Queue(QUEUE)]),
        ):
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                connection.drain_events(timeout=timeout)  # as celery's synloop and ping ask
            return time.monotonic() - started

    assert wait_for_nothing(1.0) >= 1.0
    state.should_stop = 0  # a warm shutdown's exit code, as celery's SIGTERM handler sets it
    try:
        assert wait_for_nothing(2.0) < 1.0  # a few DRAIN_WAITs, with room for a slow machine
    finally:
        state.should_stop = None
