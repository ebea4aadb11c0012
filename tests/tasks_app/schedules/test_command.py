"""`manage.py schedules`: the schedules without a browser, through the same selectors and services
as the admin and the API."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask, PeriodicTasks
from django_celery_results.models import TaskResult

from tasks_app.services.schedules import DEFAULT_SCHEDULES
from tests.support.polling import wait_for
from tests.support.worker import BASE_DIR, worker_env
from tests.tasks_app.schedules.conftest import NAME


def schedules(*args: str) -> str:
    out = io.StringIO()
    call_command("schedules", *args, stdout=out)
    return out.getvalue()


def _rows(output: str) -> dict[str, list[str]]:
    """Each schedule's cells in `list` (columns are two spaces apart or more), by name."""
    return {
        cells[0]: cells
        for cells in (re.split(r"\s{2,}", line.strip()) for line in output.splitlines()[1:])
    }


@pytest.mark.django_db
def test_list_shows_every_schedule_with_timing_next_and_last_run_and_outcome():
    now = timezone.now()
    TaskResult.objects.create(
        task_id="old", periodic_task_name="expire-reports", status="SUCCESS", date_done=now
    )
    TaskResult.objects.filter(task_id="old").update(date_done=now - timedelta(days=1))
    TaskResult.objects.create(
        task_id="new", periodic_task_name="expire-reports", status="FAILURE", date_done=now
    )
    PeriodicTask.objects.filter(name="relay-outbox").update(enabled=False)

    output = schedules("list")

    header = re.split(r"\s{2,}", output.splitlines()[0].strip())
    assert header == [
        "name", "task", "schedule", "enabled", "next run", "last run", "last outcome"
    ]  # fmt: skip
    rows = _rows(output)
    assert set(rows) == {d.name for d in DEFAULT_SCHEDULES}
    _name, task, timing, enabled, next_run, _last_run, outcome = rows["expire-reports"]
    assert (task, timing, enabled) == (
        "tasks_app.expire_reports", "30 3 * * * (m/h/dM/MY/d) UTC", "yes"
    )  # fmt: skip
    assert next_run.endswith("03:30:00 UTC")
    assert outcome == f"FAILURE at {now:%Y-%m-%d %H:%M:%S} UTC"  # the latest run
    assert rows[NAME][2:4] == ["every hour", "yes"]
    assert rows[NAME][5:] == ["-", "-"]  # no run yet, no outcome
    assert rows["relay-outbox"][3:5] == ["no", "-"]  # disabled: no next run


@pytest.mark.django_db
def test_list_is_one_query_however_many_schedules_and_runs(django_assert_num_queries):
    TaskResult.objects.bulk_create(
        TaskResult(task_id=f"r{i}", periodic_task_name=d.name, status="SUCCESS")
        for i, d in enumerate(DEFAULT_SCHEDULES * 20)
    )

    with django_assert_num_queries(1):
        schedules("list")


@pytest.mark.django_db
def test_disable_and_enable_change_the_schedule_and_wake_beat():
    before = PeriodicTasks.last_change()

    assert schedules("disable", NAME) == f"schedule {NAME} disabled\n"
    schedule = PeriodicTask.objects.get(name=NAME)
    assert schedule.enabled is False and schedule.last_run_at is None
    assert PeriodicTasks.last_change() != before  # beat re-reads its schedule

    assert schedules("enable", NAME) == f"schedule {NAME} enabled\n"
    assert PeriodicTask.objects.get(name=NAME).enabled is True


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["enable", "disable"])
def test_a_schedule_already_so_is_said_to_be_and_nothing_changes(action):
    PeriodicTask.objects.filter(name=NAME).update(enabled=action == "enable")
    before = PeriodicTasks.last_change()

    output = schedules(action, NAME)

    assert output == f"schedule {NAME} was already {action}d; nothing changed\n"
    assert PeriodicTasks.last_change() == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["run", "enable", "disable"])
def test_an_unknown_name_is_a_command_error(action):
    with pytest.raises(CommandError, match="no schedule named 'nightly-typo'"):
        schedules(action, "nightly-typo")


@pytest.mark.django_db(transaction=True)
def test_an_unknown_name_exits_non_zero_from_the_shell():
    result = subprocess.run(
        [sys.executable, "manage.py", "schedules", "run", "nightly-typo"],
        cwd=BASE_DIR,
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "no schedule named 'nightly-typo'" in result.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_run_sends_the_task_as_beat_would_and_a_worker_files_it_under_the_schedule(
    start_worker, routed_cleanup
):
    worker = start_worker(queues=routed_cleanup.queue)

    output = schedules("run", NAME)

    assert output.startswith(f"schedule {NAME} sent tasks_app.cleanup_sessions as task ")
    task_id = output.split()[-1]
    result = wait_for(
        lambda: TaskResult.objects.filter(task_id=task_id, status="SUCCESS").first(),
        timeout=30,
        what="the run on the schedule's queue",
    )
    assert result.worker == worker.hostname
    assert result.periodic_task_name == NAME
    assert (
        _rows(schedules("list"))[NAME][6] == f"SUCCESS at {result.date_done:%Y-%m-%d %H:%M:%S} UTC"
    )
