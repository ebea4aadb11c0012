"""Requesting a report: filters are validated before anything exists, and stored as the
FilterSet's JSON data, which the export applies again."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tasks_app.models import UserReport
from tasks_app.queue.memory import InMemoryTaskQueue
from tasks_app.selectors.reports import users_for_report
from tasks_app.services.reports.requests import REPORT_TASK, report_create, report_request


@pytest.mark.parametrize(
    ("filters", "bad_key"),
    [
        ({"is_admin": True}, "is_admin"),
        ({"is_active": "maybe"}, "is_active"),
        ({"role": "GOD"}, "role"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"created_before": "2025-02-30"}, "created_before"),
        ({"created_after": "2025-02-01", "created_before": "2025-01-01"}, "created_before"),
        ({"search": "s" * 255}, "search"),
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


@pytest.mark.django_db
def test_filters_are_stored_as_the_filtersets_json_data():
    report = report_create(
        requested_by=None,
        filters={
            "is_active": "false",
            "role": "admin",
            "created_after": "2025-01-01",
            "created_before": "2025-01-02T12:00:00+02:00",
            "search": "ada",
        },
    )

    report.refresh_from_db()
    assert report.filters == {
        "is_active": False,
        "role": "ADMIN",
        "created_after": "2025-01-01T00:00:00+00:00",
        "created_before": "2025-01-02T12:00:00+02:00",
        "search": "ada",
    }
    assert report_create(requested_by=None, filters={"is_active": None, "role": ""}).filters == {}
    assert report_create(requested_by=None, filters=None).filters == {}


@pytest.mark.django_db
def test_filters_stored_before_the_filterset_still_select_the_same_users(seed_users):
    """Rows written by the hand-made validation: the same keys and JSON values."""
    users = seed_users(40)
    stored = {
        "is_active": True,
        "role": "USER",
        "created_after": "2025-01-01T00:00:05+00:00",
        "created_before": "2025-01-01T00:00:30+00:00",
    }

    selected = list(users_for_report(stored))

    assert selected == sorted(
        (
            u
            for u in users
            if u.is_active
            and u.role == "USER"
            and stored["created_after"] <= u.created_at.isoformat() < stored["created_before"]
        ),
        key=lambda u: (u.created_at, str(u.pk)),
    )
    assert selected


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
