"""Which running attempts are lost, what their tasks become, and the bound on redeliveries: the
rows a dead worker leaves, without a worker (tests/faults/ kills real ones)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from celery import states
from django.test import override_settings
from django.utils import timezone
from django_celery_results.models import TaskResult

import tasks_app.tasks  # noqa: F401 (a worker's task registry, which the sweep reads)
from project.celery import app as celery_app
from tasks_app.ledger.lost import attempts_lose, attempts_lose_of_worker
from tasks_app.ledger.redeliveries import PoisonMessageError, redeliveries_check
from tasks_app.models import TaskAttempt, UserReport
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db

REPORT = "tasks_app.generate_user_report"  # acknowledged on receipt: never delivered again
EMAIL = "tasks_app.send_email"  # acks_late: its message comes back


def started(task_name: str, *outcomes: str, worker: str = "w1@host", ago: int = 120) -> str:
    """A STARTED task whose attempts have these outcomes, the last one on `worker`."""
    task_id = str(uuid.uuid4())
    at = timezone.now() - timedelta(seconds=ago)
    TaskResult.objects.create(task_id=task_id, task_name=task_name, status=states.STARTED)
    for number, outcome in enumerate(outcomes, start=1):
        TaskAttempt.objects.create(
            task_id=task_id,
            task_name=task_name,
            number=number,
            worker=worker,
            started_at=at,
            outcome=outcome,
        )
    return task_id


def outcomes(task_id: str) -> list[str]:
    return list(
        TaskAttempt.objects.filter(task_id=task_id)
        .order_by("number")
        .values_list("outcome", flat=True)
    )


def status(task_id: str) -> str:
    return TaskResult.objects.get(task_id=task_id).status


def test_an_attempt_with_a_newer_one_is_lost_and_its_task_keeps_running():
    task_id = started(EMAIL, "running", "running")

    assert attempts_lose(alive=None) == 1

    assert outcomes(task_id) == ["lost", "running"]
    assert status(task_id) == states.STARTED
    attempt = TaskAttempt.objects.get(task_id=task_id, number=1)
    assert attempt.finished_at is not None and attempt.error.startswith("WorkerLostError")


def test_an_attempt_whose_task_already_failed_is_lost():
    """Celery's main process recorded its pool process's death; the attempt stayed running."""
    task_id = started(REPORT, "running")
    TaskResult.objects.filter(task_id=task_id).update(status=states.FAILURE)

    assert attempts_lose(alive=None) == 1
    assert outcomes(task_id) == ["lost"]


def test_a_worker_that_misses_the_ping_lost_its_attempts_and_an_unacked_task_fails():
    gone = started(REPORT, "running", worker="gone@host")
    alive = started(REPORT, "running", worker="w1@host")
    later = started(REPORT, "running", worker="gone@host", ago=-60)  # after the ping

    assert attempts_lose(alive=["w1@host"], pinged_at=timezone.now()) == 1

    assert (outcomes(gone), outcomes(alive), outcomes(later)) == (
        ["lost"],
        ["running"],
        ["running"],
    )
    result = TaskResult.objects.get(task_id=gone)
    assert result.status == states.FAILURE and json.loads(result.result)["exc_type"] == (
        "WorkerLostError"
    )


def test_an_acks_late_task_whose_worker_is_gone_waits_for_its_redelivery():
    task_id = started(EMAIL, "running", worker="gone@host")

    attempts_lose(alive=["w1@host"], pinged_at=timezone.now())

    assert outcomes(task_id) == ["lost"] and status(task_id) == states.STARTED


def test_no_answer_at_all_says_nothing_about_any_worker():
    task_id = started(REPORT, "running", worker="gone@host")

    assert attempts_lose(alive=[], pinged_at=timezone.now()) == 0
    assert outcomes(task_id) == ["running"]


def test_a_worker_starting_under_a_name_ends_what_its_predecessor_left():
    before = started(REPORT, "running", worker="w1@host")
    own = started(REPORT, "running", worker="w1@host", ago=-5)  # started by the new worker
    other = started(REPORT, "running", worker="w2@host")

    assert attempts_lose_of_worker(worker="w1@host", started_before=timezone.now()) == 1

    assert [outcomes(t) for t in (before, own, other)] == [["lost"], ["running"], ["running"]]
    assert status(before) == states.FAILURE


@override_settings(TASK_MAX_REDELIVERIES=2)
def test_a_delivery_after_more_lost_attempts_than_the_bound_is_refused():
    task_id = started(EMAIL, "lost", "running", "retry", "running")  # 2 lost, then a retry
    fourth = TaskAttempt.objects.get(task_id=task_id, number=4)
    redeliveries_check(attempt=fourth)  # 2 lost before it: within the bound

    fifth = TaskAttempt.objects.create(
        task_id=task_id, task_name=EMAIL, number=5, started_at=timezone.now()
    )
    with pytest.raises(PoisonMessageError, match="died during 3 attempts"):
        redeliveries_check(attempt=fifth)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_on_a_worker_fails_the_report_of_a_worker_that_is_gone(celery_worker):
    """What beat sends every minute: the report's worker answers no ping, the sweep's does."""
    task_id = started(REPORT, "running", worker="gone@host")
    report = UserReport.objects.create(
        status=UserReport.Status.RUNNING, task_id=task_id, started_at=timezone.now()
    )

    celery_app.send_task("tasks_app.fail_lost_tasks")

    wait_for(
        lambda: UserReport.objects.filter(pk=report.pk, status="failed").exists(),
        what="the report of the dead worker to fail",
    )
    assert outcomes(task_id) == ["lost"] and status(task_id) == states.FAILURE
    assert "worker was lost" in UserReport.objects.get(pk=report.pk).error
