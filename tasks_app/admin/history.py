"""The task history (django-celery-results' TaskResult with the ledger's record and attempts)
and the overview page."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from celery import current_app
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.defaultfilters import pluralize, truncatechars
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.models import PeriodicTask
from django_celery_results.admin import TaskResultAdmin as BaseTaskResultAdmin
from django_celery_results.models import TaskResult

from project.paginators import EstimatedCountPaginator
from project.timezones import local_time
from tasks_app.admin.base import NamedListAdmin, ReadOnlyAdmin
from tasks_app.charts import overview_charts
from tasks_app.models import TaskOverview
from tasks_app.selectors.broker import monitored_queues, queue_lengths, workers_online
from tasks_app.selectors.ledger import (
    WAITING,
    task_attempts,
    task_status,
    task_status_q,
    task_statuses,
)
from tasks_app.selectors.schedules import schedules_with_runs
from tasks_app.selectors.task_results import task_result_duration, task_stats
from tasks_app.services.task_actions import TaskActionRefused, task_cancel, task_retry


class StatusFilter(admin.SimpleListFilter):
    """Celery's states plus the ledger's (queued, waiting for the broker, scheduled, cancelled,
    stalled): the same statuses as `GET /api/tasks/?status=` (tasks_app.selectors.ledger)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status, status.replace("_", " ")) for status in task_statuses()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(task_status_q(self.value()))
        return queryset


class _ChoicesFilter(admin.SimpleListFilter):
    """A filter whose choices come from configuration, not from a DISTINCT over the history
    (which would read a million rows on every page)."""

    field: str

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class TaskNameFilter(_ChoicesFilter):
    title = "task"
    parameter_name = "task_name"
    field = "task_name"

    def lookups(self, request, model_admin):
        current_app.loader.import_default_modules()
        names = sorted(name for name in current_app.tasks if not name.startswith("celery."))
        return [(name, name) for name in names]


class QueueFilter(_ChoicesFilter):
    title = "queue"
    parameter_name = "queue"
    field = "record__queue"

    def lookups(self, request, model_admin):
        return [(queue, queue) for queue in monitored_queues()]


class ScheduleFilter(_ChoicesFilter):
    title = "schedule"
    parameter_name = "schedule"
    field = "periodic_task_name"

    def lookups(self, request, model_admin):
        names = PeriodicTask.objects.order_by("name").values_list("name", flat=True)
        return [(name, name) for name in names]


def _json_text(raw: str | None) -> str:
    """Arguments are stored as JSON-encoded reprs; show the repr itself."""
    if raw in (None, ""):
        return ""
    value = json.loads(raw)
    return value if isinstance(value, str) else json.dumps(value)


admin.site.unregister(TaskResult)


@admin.register(TaskResult)
class TaskResultAdmin(NamedListAdmin, BaseTaskResultAdmin):
    list_display = (
        "task_name",
        "arguments",
        "state",
        "trigger",
        "queue",
        "worker",
        "date_created",
        "date_started",
        "duration",
        "outcome",
    )
    list_filter = (
        StatusFilter,
        TaskNameFilter,
        "record__trigger",
        QueueFilter,
        "date_created",
        ScheduleFilter,
    )
    list_select_related = ("record", "record__triggered_by")
    search_fields = ("=task_id", "task_name", "periodic_task_name")
    actions = ("retry", "cancel")
    list_per_page = 50
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    date_hierarchy = None  # its month links are a DISTINCT over the whole history
    ordering = ("-date_created",)
    item_name = "task"

    def item_label(self, obj: TaskResult) -> str:
        return f"{obj.task_name or 'A task without a name'} {obj.task_id}"

    def get_readonly_fields(self, request, obj=None):
        """Every field: the history is a record (retry and cancel are actions, not edits)."""
        return [*(field.name for field in self.opts.local_fields), "queued_by", "attempts"]

    def get_fieldsets(self, request, obj=None):
        return [
            ("Ledger", {"fields": ("queued_by", "attempts")}),
            *super().get_fieldsets(request, obj),
        ]

    def has_add_permission(self, request) -> bool:
        return False  # history is written by workers, never by hand

    def get_queryset(self, request):
        # "meta" is never shown in the list; the result and traceback are (shortened).
        return super().get_queryset(request).defer("meta")

    @admin.display(description="trigger", ordering="record__trigger")
    def trigger(self, obj: TaskResult) -> str:
        record = getattr(obj, "record", None)
        if record is None:
            return "-"
        user = record.triggered_by.username if record.triggered_by else ""
        return " ".join(part for part in (record.get_trigger_display(), user) if part)

    @admin.display(description="queue", ordering="record__queue")
    def queue(self, obj: TaskResult) -> str:
        record = getattr(obj, "record", None)
        return record.queue if record is not None else "-"

    @admin.display(description="queued by")
    def queued_by(self, obj: TaskResult) -> str:
        record = getattr(obj, "record", None)
        if record is None:
            return "Not recorded at enqueue (sent outside the task-queue port)."
        parts = [self.trigger(obj), record.trigger_label, f"queue {record.queue}"]
        if record.eta:
            parts.append(f"not before {local_time(record.eta)}")
        if task_status(obj) == WAITING:
            parts.append(f"waiting for the broker ({record.publish_failures} failed publishes)")
        if record.cancelled_at:
            who = record.cancelled_by.username if record.cancelled_by else "someone"
            parts.append(f"cancelled by {who} at {local_time(record.cancelled_at)}")
        return "; ".join(part for part in parts if part)

    @admin.display(description="attempts")
    def attempts(self, obj: TaskResult) -> str:
        rows = task_attempts(obj.task_id)
        if not rows:
            return "None yet."
        last = rows[-1].number
        return format_html(
            "<table><tr><th>#</th><th>worker</th><th>started</th><th>waited</th><th>ran</th>"
            "<th>outcome</th><th>error</th></tr>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                "<td>{}</td></tr>",
                (
                    (
                        a.number,
                        a.worker,
                        local_time(a.started_at),
                        _seconds(a.wait_seconds),
                        _seconds(a.runtime_seconds),
                        "lost (worker died)"
                        if a.outcome == "running" and a.number != last
                        else a.get_outcome_display(),
                        a.error,
                    )
                    for a in rows
                ),
            ),
        )

    @admin.display(description="arguments")
    def arguments(self, obj: TaskResult) -> str:
        args, kwargs = _json_text(obj.task_args), _json_text(obj.task_kwargs)
        shown = ", ".join(part for part in (args, kwargs) if part not in ("", "()", "[]", "{}"))
        return truncatechars(shown, 80)

    @admin.display(description="status", ordering="status")
    def state(self, obj: TaskResult) -> str:
        return task_status(obj).replace("_", " ")

    @admin.display(description="duration")
    def duration(self, obj: TaskResult):
        return task_result_duration(obj)

    @admin.display(description="result / traceback")
    def outcome(self, obj: TaskResult) -> str:
        if obj.traceback:
            return truncatechars(obj.traceback.strip().splitlines()[-1], 100)
        return truncatechars(obj.result or "", 100)

    @admin.action(
        description="Retry failed tasks (resend the email, regenerate the report, rerun)",
        permissions=["change"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> None:
        self._act(request, queryset, task_retry, "retried")

    @admin.action(description="Cancel tasks that have not started", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[TaskResult]) -> None:
        self._act(request, queryset, task_cancel, "cancelled")

    def _act(self, request: HttpRequest, queryset, action, verb: str) -> None:
        """Counts what was done; every refusal is shown with its reason."""
        done = 0
        for result in queryset.select_related("record"):
            try:
                action(result=result, by=request.user)
            except TaskActionRefused as exc:
                self.message_user(request, str(exc), level=messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"{done} task{pluralize(done)} {verb}.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        """Retry and cancel are changes (the API's CanChangeTaskHistory); the row itself stays
        read-only (every field is)."""
        return request.user.has_perm("django_celery_results.change_taskresult")


WORKERS_CACHE_KEY = "tasks_app:overview:workers"
WORKERS_CACHE_SECONDS = 10


def _seconds(value: float | None) -> str:
    return f"{value:.3f} s" if value is not None else "-"


@admin.register(TaskOverview)
class TaskOverviewAdmin(ReadOnlyAdmin):
    """Its list page is the overview: last 24 h by task, queues, workers, schedules."""

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("django_celery_results.view_taskresult")

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        # A ping waits out its whole timeout (it cannot know how many workers will answer): it
        # runs while the queries do, and its answer is kept for a few seconds, so that a page
        # reloaded does not wait again.
        with ThreadPoolExecutor(max_workers=1) as pool:
            workers = pool.submit(
                cache.get_or_set, WORKERS_CACHE_KEY, workers_online, WORKERS_CACHE_SECONDS
            )
            queues = monitored_queues()
            schedules = schedules_with_runs(now=now)
            context = {
                **self.admin_site.each_context(request),
                "title": "Task overview",
                "opts": self.model._meta,
                "now": now,
                "stats": task_stats(now=now),
                "charts": overview_charts(now=now),
                "queues": queue_lengths(queues).items(),
                "schedules": schedules,
                "missed_runs": [row for row in schedules if row.missed_due_at],
            }
            context["workers"] = workers.result()
        return TemplateResponse(request, "admin/tasks_app/overview.html", context)
