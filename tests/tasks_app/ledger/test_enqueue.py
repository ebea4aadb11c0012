"""The record written at the enqueue: a batch larger than one statement's parameters (Postgres
takes 65,535) is recorded whole, each task with its own arguments."""

from __future__ import annotations

import json

import pytest

from tasks_app.models import TaskRecord
from tasks_app.queue import PublishOptions, get_task_queue

pytestmark = pytest.mark.django_db


def test_a_mailing_of_12_000_is_recorded_whole_with_each_tasks_arguments():
    calls = [((), {"email_log_id": n}) for n in range(12_000)]

    ids = get_task_queue().enqueue_many(
        "tasks_app.send_email", calls, options=PublishOptions(queue="mailing")
    )

    records = TaskRecord.objects.filter(pk__in=ids)
    assert records.count() == 12_000 == len(set(ids))
    assert set(records.values_list("task_name", "queue", "task_args").distinct()) == {
        ("tasks_app.send_email", "mailing", "[]")
    }
    kwargs = dict(records.values_list("pk", "task_kwargs"))
    assert [json.loads(kwargs[task_id])["email_log_id"] for task_id in ids] == list(range(12_000))
