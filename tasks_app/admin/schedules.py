"""Schedules: django-celery-beat's PeriodicTask admin, with a faithful "run now" and links to the
run history."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_celery_beat.admin import PeriodicTaskAdmin as BasePeriodicTaskAdmin
from django_celery_beat.admin import PeriodicTaskForm
from django_celery_beat.models import PeriodicTask
from django_celery_results.models import TaskResult

from tasks_app.admin.base import NamedListAdmin
from tasks_app.selectors.schedules import schedule_next_run
from tasks_app.services.schedules import (
    schedule_check_interval,
    schedule_run_now,
    schedules_set_enabled,
)


def history_url(schedule_name: str) -> str:
    changelist = reverse(
        f"admin:{TaskResult._meta.app_label}_{TaskResult._meta.model_name}_changelist"
    )
    return f"{changelist}?{urlencode({'periodic_task_name': schedule_name})}"


admin.site.unregister(PeriodicTask)


class ScheduleForm(PeriodicTaskForm):
    """django-celery-beat's form, with the API's floor on intervals, and a registered task shown
    selected in "Task (registered)" (upstream leaves it blank and shows the name as custom)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        registered = {name for name, _ in self.fields["regtask"].widget.choices if name}
        if self.instance.pk and self.instance.task in registered:
            self.initial.update(regtask=self.instance.task, task="")

    def clean(self):
        cleaned_data = super().clean()
        interval = cleaned_data.get("interval")
        if interval is not None:
            try:
                schedule_check_interval(every=interval.every, period=interval.period)
            except ValidationError as exc:
                self.add_error("interval", exc.messages)
        return cleaned_data


@admin.register(PeriodicTask)
class ScheduleAdmin(NamedListAdmin, BasePeriodicTaskAdmin):
    form = ScheduleForm
    list_display = (
        "name",
        "task",
        "enabled",
        "scheduler",
        "last_run_at",
        "next_run",
        "total_run_count",
        "queue",
        "run_history",
    )
    list_filter = ["enabled", "one_off", "task", "queue", "last_run_at"]
    change_form_template = "admin/django_celery_beat/periodictask/change_form.html"
    item_name = "schedule"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The page links to the schedule's runs in the task history."""
        schedule = self.get_object(request, object_id)
        if schedule is not None:
            extra_context = {**(extra_context or {}), "run_history_url": history_url(schedule.name)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="next run")
    def next_run(self, obj: PeriodicTask):
        return schedule_next_run(obj)

    @admin.display(description="history")
    def run_history(self, obj: PeriodicTask) -> str:
        return format_html('<a href="{}">runs</a>', history_url(obj.name))

    @admin.action(description="Enable selected tasks", permissions=["change"])
    def enable_tasks(self, request, queryset) -> None:
        """Replaces django-celery-beat's action, which counts as enabled those that already were."""
        self._set_enabled(request, queryset, enabled=True)

    @admin.action(description="Disable selected tasks", permissions=["change"])
    def disable_tasks(self, request, queryset) -> None:
        self._set_enabled(request, queryset, enabled=False)

    def _set_enabled(self, request, queryset, *, enabled: bool) -> None:
        selected = queryset.count()
        changed = schedules_set_enabled(schedules=queryset, enabled=enabled)
        word = "enabled" if enabled else "disabled"
        message = f"{changed} schedule{pluralize(changed)} {word}"
        if selected > changed:
            message += (
                f"; {selected - changed} already {'was' if selected - changed == 1 else 'were'}"
            )
        self.message_user(
            request, message + ".", level=messages.SUCCESS if changed else messages.WARNING
        )

    @admin.action(
        description="Run selected tasks now (with their queue, expiry, priority and headers)",
        permissions=["change"],
    )
    def run_tasks(self, request, queryset) -> None:
        """Replaces django-celery-beat's action, which sends only the queue and drops the
        rest of the entry's options; ours publishes what beat would, through the outbox."""
        sent = [(schedule.name, schedule_run_now(schedule=schedule)) for schedule in queryset]
        links = format_html(
            ", ".join(['<a href="{}">{}</a>'] * len(sent)),
            *[part for name, _id in sent for part in (history_url(name), name)],
        )
        self.message_user(
            request,
            format_html("{} task{} sent: {}", len(sent), pluralize(len(sent)), links),
        )
