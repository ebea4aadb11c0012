"""The one filter over the task history: `GET /api/tasks/` and `manage.py tasks list` accept the
same filters with the same messages (the history admin offers the same statuses)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django_celery_results.models import TaskResult

from accounts.filters import moment_range
from tasks_app.models.ledger import Trigger
from tasks_app.selectors.ledger import task_status_q, task_statuses


class TaskFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(status, status) for status in task_statuses()],
        method="filter_status",
        help_text="Celery's states plus the ledger's: QUEUED, WAITING_FOR_BROKER, SCHEDULED, "
        "CANCELLED, STALLED (its worker died).",
    )
    task_name = django_filters.CharFilter(max_length=255, help_text="Exactly this task name.")
    trigger = django_filters.ChoiceFilter(
        field_name="record__trigger", choices=Trigger.choices, help_text="What queued the task."
    )
    triggered_by = django_filters.CharFilter(
        field_name="record__triggered_by__username",
        max_length=150,
        help_text="Queued by this user's request or action (username).",
    )
    schedule = django_filters.CharFilter(
        field_name="periodic_task_name", max_length=255, help_text="Sent for this schedule."
    )
    queue = django_filters.CharFilter(
        field_name="record__queue", max_length=200, help_text="Sent to this queue."
    )
    created_after, created_before = moment_range("date_created", "Queued")

    class Meta:
        model = TaskResult
        fields: list[str] = []

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(task_status_q(value))


def filter_tasks(*, queryset: QuerySet[TaskResult], filters: Mapping[str, Any]) -> QuerySet:
    """`queryset` narrowed by `filters` (unknown keys ignored: the API refuses them first,
    project.filters.list_filters), or a ValidationError naming each bad filter."""
    filterset = TaskFilterSet(data=filters, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(
            {field: list(messages) for field, messages in filterset.errors.items()}
        )
    return filterset.qs
