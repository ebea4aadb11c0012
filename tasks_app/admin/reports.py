"""Admin for CSV reports: watch and download them, retry failed ones and cancel pending ones.
They are requested from the user changelist ("Generate CSV report", accounts.admin), the API or
manage.py."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_celery_results.models import TaskResult

from project.errors import ApplicationError
from tasks_app.admin.base import NamedListAdmin
from tasks_app.downloads import ReportFileGone, report_file_response
from tasks_app.models import UserReport
from tasks_app.services.reports.actions import REPORTS_PERMISSION, report_cancel, report_retry
from tasks_app.services.reports.housekeeping import report_delete


@admin.register(UserReport)
class UserReportAdmin(NamedListAdmin):
    """Reports are made by the action, the API or manage.py; here they are watched and fetched."""

    list_display = [
        "short_id",
        "status",
        "progress",
        "row_count",
        "duration_display",
        "requested_by",
        "created_at",
        "download",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "task_id", "requested_by__username"]
    date_hierarchy = "created_at"
    list_select_related = ["requested_by"]
    actions = ["retry_reports", "cancel_reports"]
    fields = [
        "id",
        "status",
        "progress",
        "requested_by",
        "filters",
        "row_count",
        "rows_written",
        "total_rows",
        "download",
        "task_history",
        "error",
        "retries",
        "created_at",
        "started_at",
        "finished_at",
        "cancelled_by",
        "cancelled_at",
        "duration_display",
    ]
    readonly_fields = fields
    change_form_template = "admin/tasks_app/userreport/change_form.html"
    refresh_seconds = 2  # how often a report in progress reloads its page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UserReport | None = None) -> bool:
        return False

    def has_act_permission(self, request: HttpRequest) -> bool:
        """Retry and cancel: whoever may request reports (as the API's retry and cancel)."""
        return request.user.has_perm(REPORTS_PERMISSION)

    @admin.action(description="Retry selected failed reports", permissions=["act"])
    def retry_reports(self, request: HttpRequest, queryset: QuerySet[UserReport]) -> None:
        self._act(request, queryset, report_retry, "queued again")

    @admin.action(description="Cancel selected pending reports", permissions=["act"])
    def cancel_reports(self, request: HttpRequest, queryset: QuerySet[UserReport]) -> None:
        self._act(request, queryset, report_cancel, "cancelled")

    def _act(
        self, request: HttpRequest, queryset: QuerySet[UserReport], service: Callable, done: str
    ) -> None:
        """One service call per report; what it did counted, each refusal a warning with why."""
        acted = 0
        for report in queryset:
            try:
                service(report=report, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, exc.message, level=messages.WARNING)
            else:
                acted += 1
        level = messages.SUCCESS if acted else messages.WARNING
        self.message_user(request, f"{acted} report{pluralize(acted)} {done}.", level=level)

    @admin.display(description="report", ordering="created_at")
    def short_id(self, report: UserReport) -> str:
        return str(report.pk)[:8]

    @admin.display(description="progress")
    def progress(self, report: UserReport) -> str:
        return format_html(
            '<progress value="{}" max="100" style="width:8em"></progress> {}%',
            report.progress_percent,
            report.progress_percent,
        )

    @admin.display(description="duration")
    def duration_display(self, report: UserReport) -> str:
        duration = report.duration
        return "-" if duration is None else f"{duration.total_seconds():.1f} s"

    @admin.display(description="file")
    def download(self, report: UserReport) -> str:
        if not report.is_completed():
            return "-"
        url = reverse("admin:tasks_app_userreport_download", args=[report.pk])
        return format_html('<a href="{}">{}</a>', url, report.file_basename())

    @admin.display(description="task history")
    def task_history(self, report: UserReport) -> str:
        """The task's TaskResult entry (worker, times, result or traceback) once it exists."""
        if not report.task_id:
            return "- (run in the foreground)"
        entry = TaskResult.objects.filter(task_id=report.task_id).values_list("pk", flat=True)
        if entry:
            url = reverse("admin:django_celery_results_taskresult_change", args=[entry[0]])
            return format_html('<a href="{}">{}</a>', url, report.task_id)
        url = reverse("admin:django_celery_results_taskresult_changelist")
        return format_html(
            '<a href="{}?{}">{}</a> (no entry yet)',
            url,
            urlencode({"task_id": report.task_id}),
            report.task_id,
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "refresh_seconds": self.refresh_seconds}
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list:
        download = path(
            "<uuid:report_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="tasks_app_userreport_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request: HttpRequest, report_id: str) -> HttpResponse:
        """The file through the admin's own login (the API may use other authentication)."""
        report = get_object_or_404(UserReport, pk=report_id)
        if not self.has_view_permission(request, report):
            raise PermissionDenied
        if not report.is_completed():
            self.message_user(request, f"The report is {report.status}.", level=messages.WARNING)
            return redirect("admin:tasks_app_userreport_change", report.pk)
        try:
            return report_file_response(report)
        except ReportFileGone as exc:
            self.message_user(request, exc.message, level=messages.ERROR)
            return redirect("admin:tasks_app_userreport_change", report.pk)

    def delete_model(self, request: HttpRequest, obj: UserReport) -> None:
        report_delete(report=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserReport]) -> None:
        for report in queryset:
            report_delete(report=report)
