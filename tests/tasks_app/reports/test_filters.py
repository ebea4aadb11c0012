"""Filters are validated before anything exists: a bad one leaves no row and no message."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tasks_app.models import UserReport
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.services.reports import REPORT_TASK, report_filters_validate, report_request


@pytest.mark.parametrize(
    ("filters", "bad_key"),
    [
        ({"is_admin": True}, "is_admin"),
        ({"is_active": "maybe"}, "is_active"),
        ({"role": "GOD"}, "role"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2025-02-30"}, "created_before"),
        ({"created_after": "2025-02-01", "created_before": "2025-01-01"}, "created_before"),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_bad_filter_is_rejected_before_anything_is_enqueued(filters, bad_key):
    queue = InMemoryTaskQueue()

    with pytest.raises(ValidationError) as error:
        report_request(requested_by=None, filters=filters, task_queue=queue)

    assert bad_key in error.value.message_dict
    assert UserReport.objects.count() == 0
    assert queue.published == []


def test_filters_are_normalised_to_json_values():
    assert report_filters_validate(
        {
            "is_active": "false",
            "role": "admin",
            "created_after": "2025-01-01",
            "created_before": "2025-01-02T12:00:00+02:00",
        }
    ) == {
        "is_active": False,
        "role": "ADMIN",
        "created_after": "2025-01-01T00:00:00+00:00",
        "created_before": "2025-01-02T12:00:00+02:00",
    }
    assert report_filters_validate({"is_active": None, "role": ""}) == {}
    assert report_filters_validate(None) == {}


@pytest.mark.django_db(transaction=True)
def test_request_creates_a_pending_row_and_enqueues_its_id_after_commit(admin):
    queue = InMemoryTaskQueue()

    report = report_request(requested_by=admin, filters={"is_active": True}, task_queue=queue)

    assert report.status == UserReport.Status.PENDING
    assert report.filters == {"is_active": True}
    assert report.requested_by == admin
    [task] = queue.published
    assert (task.name, task.kwargs, task.task_id) == (
        REPORT_TASK,
        {"report_id": str(report.pk)},
        report.task_id,
    )
