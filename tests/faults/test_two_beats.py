"""Faults: two beats against one database, the sending one SIGKILLed; a beat SIGKILLed right
after sending a one-off schedule.

Only the beat holding the lease sends (tasks_app.services.beat_lease); the other ticks on standby
and takes over once the dead one's lease expires: within BEAT_LEASE_SECONDS (10 here) + the
standby's 2 s poll + one interval of the schedule. The runs go to a queue no worker consumes:
what is counted is what beat sent (the ledger's records, named after their schedule).
"""

from __future__ import annotations

import datetime
import itertools
import time
import uuid
from collections.abc import Iterator

import pytest
from django.utils import timezone
from django_celery_beat.models import ClockedSchedule, IntervalSchedule, PeriodicTask

from tasks_app.models import BeatHeartbeat, TaskRecord
from tasks_app.scheduler import STANDBY_POLL
from tasks_app.selectors.beat import beat_status
from tests.support.beat import CeleryBeat
from tests.support.broker import drop_queue
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = 10  # BEAT_LEASE_SECONDS of these beats
EVERY = 2  # seconds between two runs of the test's schedule


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"beats-{uuid.uuid4().hex[:8]}"
    yield name
    drop_queue(name)


@pytest.fixture
def start_beat(django_db_setup) -> Iterator:
    beats: list[CeleryBeat] = []

    def start() -> CeleryBeat:
        beat = CeleryBeat(BEAT_LEASE_SECONDS=str(LEASE)).start()
        beats.append(beat)
        return beat

    yield start
    for beat in beats:
        beat.stop()


def heartbeat(beat: CeleryBeat) -> BeatHeartbeat | None:
    return BeatHeartbeat.objects.filter(instance__endswith=f":{beat.process.pid}").first()


def runs(name: str) -> list[datetime.datetime]:
    return list(
        TaskRecord.objects.filter(trigger_label=name)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )


def test_a_standby_beat_sends_nothing_and_takes_over_when_the_sending_one_is_killed(
    start_beat, queue
):
    name = f"two-beats-{queue}"
    every, _ = IntervalSchedule.objects.get_or_create(every=EVERY, period="seconds")
    PeriodicTask.objects.create(
        name=name, task="tasks_app.cleanup_sessions", interval=every, queue=queue
    )
    first = start_beat()
    wait_for(lambda: getattr(heartbeat(first), "leading", False), timeout=30, what="a leader")
    second = start_beat()
    wait_for(lambda: heartbeat(second), timeout=30, what="the second beat's heartbeat")

    # Both live for a while: the first sends every 2 s, the second nothing.
    before = len(runs(name))
    wait_for(lambda: len(runs(name)) >= before + 4, timeout=20, what="four runs with two beats")
    both = beat_status()
    assert second.count("Sending due task") == 0, second.log()[-2000:]
    assert not heartbeat(second).leading and both.problem is None
    assert both.standby == [heartbeat(second).instance]

    first.kill()
    killed_at = timezone.now()
    sent_before_kill = len(runs(name))
    wait_for(lambda: len(runs(name)) > sent_before_kill, timeout=LEASE + 20, what="a takeover")
    takeover = (runs(name)[sent_before_kill] - killed_at).total_seconds()
    wait_for(lambda: len(runs(name)) >= sent_before_kill + 3, timeout=20, what="runs after it")

    times = runs(name)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    print(f"{len(times)} runs; takeover {takeover:.1f}s after the kill; gaps {gaps}")
    assert takeover <= LEASE + STANDBY_POLL + EVERY + 2  # the stated bound, and a little slack
    assert second.count(f"Sending due task {name}") == len(times) - sent_before_kill
    assert min(gaps) > EVERY / 2  # never two beats sending the same run
    assert "holds the lease" in second.log()


def test_a_one_off_schedule_is_sent_once_when_beat_is_killed_right_after_sending_it(
    start_beat, queue
):
    name = f"one-off-{queue}"
    at, _ = ClockedSchedule.objects.get_or_create(
        clocked_time=timezone.now() + datetime.timedelta(seconds=3)
    )
    PeriodicTask.objects.create(
        name=name, task="tasks_app.cleanup_sessions", clocked=at, one_off=True, queue=queue
    )
    first = start_beat()
    wait_for(lambda: runs(name), timeout=30, what="the one-off run")
    first.kill()  # no shutdown, no sync of its schedule: the worst restart
    second = start_beat()
    # The new beat takes the dead one's lease once it expires, then looks at the schedule.
    wait_for(lambda: getattr(heartbeat(second), "leading", False), timeout=LEASE + 20, what="lead")
    took_over = time.monotonic()
    wait_for(
        lambda: time.monotonic() - took_over > 6 and heartbeat(second).leading,
        timeout=15,
        what="a few ticks of the new beat",
    )

    assert len(runs(name)) == 1, second.log()[-2000:]
    assert second.count(f"Sending due task {name}") == 0
    assert not PeriodicTask.objects.get(name=name).enabled  # done: disabled by the scheduler
