"""The task history (django-celery-results' TaskResult) and the overview page."""

from __future__ import annotations

import json

from celery import states
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize, truncatechars
from django.template.response import TemplateResponse
from django.utils import timezone
from django_celery_results.admin import TaskResultAdmin as BaseTaskResultAdmin
from django_celery_results.models import TaskResult

from tasks_app.admin.base import ReadOnlyAdmin
from tasks_app.models import TaskOverview
from tasks_app.selectors.broker import monitored_queues, queue_lengths, workers_online
from tasks_app.selectors.schedules import schedules_with_runs
from tasks_app.selectors.task_results import (
    STALLED,
    task_result_display_status,
    task_result_duration,
    task_results_stalled_q,
    task_stats,
)
from tasks_app.services.history import task_result_reenqueue


class StatusFilter(admin.SimpleListFilter):
    """Celery's states, plus STALLED (see tasks_app.selectors.task_results for the rule)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(s, s) for s in sorted(states.ALL_STATES)] + [(STALLED, "STALLED (worker died)")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == STALLED:
            return queryset.filter(task_results_stalled_q())
        if value == states.STARTED:
            return queryset.filter(status=states.STARTED).exclude(task_results_stalled_q())
        if value:
            return queryset.filter(status=value)
        return queryset


def _json_text(raw: str | None) -> str:
    """Arguments are stored as JSON-encoded reprs; show the repr itself."""
    if raw in (None, ""):
        return ""
    value = json.loads(raw)
    return value if isinstance(value, str) else json.dumps(value)


admin.site.unregister(TaskResult)


@admin.register(TaskResult)
class TaskResultAdmin(BaseTaskResultAdmin):
    list_display = (
        "task_name",
        "arguments",
        "worker",
        "periodic_task_name",
        "state",
        "date_started",
        "date_done",
        "duration",
        "outcome",
    )
    list_filter = ("task_name", StatusFilter, "date_done", "periodic_task_name")
    search_fields = ("task_id", "task_name", "periodic_task_name")
    actions = ("reenqueue",)
    list_per_page = 50

    def has_add_permission(self, request) -> bool:
        return False  # history is written by workers, never by hand

    def get_queryset(self, request):
        # "meta" is never shown in the list; the result and traceback are (shortened).
        return super().get_queryset(request).defer("meta")

    @admin.display(description="arguments")
    def arguments(self, obj: TaskResult) -> str:
        args, kwargs = _json_text(obj.task_args), _json_text(obj.task_kwargs)
        shown = ", ".join(part for part in (args, kwargs) if part not in ("", "()", "[]", "{}"))
        return truncatechars(shown, 80)

    @admin.display(description="status", ordering="status")
    def state(self, obj: TaskResult) -> str:
        return task_result_display_status(obj)

    @admin.display(description="duration")
    def duration(self, obj: TaskResult):
        return task_result_duration(obj)

    @admin.display(description="result / traceback")
    def outcome(self, obj: TaskResult) -> str:
        if obj.traceback:
            return truncatechars(obj.traceback.strip().splitlines()[-1], 100)
        return truncatechars(obj.result or "", 100)

    @admin.action(
        description="Re-enqueue failed tasks with their original arguments",
        permissions=["reenqueue"],
    )
    def reenqueue(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> None:
        sent, errors = 0, []
        for task_result in queryset:
            try:
                task_result_reenqueue(task_result=task_result)
                sent += 1
            except ValidationError as exc:
                errors.extend(exc.messages)
        if sent:
            self.message_user(request, f"{sent} task{pluralize(sent)} re-enqueued.")
        for error in errors:
            self.message_user(request, error, level=messages.ERROR)

    def has_reenqueue_permission(self, request: HttpRequest) -> bool:
        """Sending work again is a change, not a read."""
        return request.user.has_perm("django_celery_results.change_taskresult")


@admin.register(TaskOverview)
class TaskOverviewAdmin(ReadOnlyAdmin):
    """Its list page is the overview: last 24 h by task, queues, workers, schedules."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("django_celery_results.view_taskresult")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        queues = monitored_queues()
        context = {
            **self.admin_site.each_context(request),
            "title": "Task overview",
            "opts": self.model._meta,
            "now": now,
            "stats": task_stats(now=now),
            "queues": queue_lengths(queues).items(),
            "workers": workers_online(),
            "schedules": schedules_with_runs(),
        }
        return TemplateResponse(request, "admin/tasks_app/overview.html", context)
