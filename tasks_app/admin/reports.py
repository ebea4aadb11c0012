"""Admin for CSV reports: the report list, and the "Generate CSV report" action for users."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django_celery_results.models import TaskResult

from tasks_app.apis.reports import report_file_response
from tasks_app.models import UserReport
from tasks_app.services.reports import report_delete, report_request

# The user changelist's filter parameters that a report can reproduce, and their report filter.
# Anything else in the query string (a search, another filter) makes the action refuse: a report
# silently wider than the list the admin was looking at would be wrong.
CHANGELIST_FILTERS = {
    "is_active__exact": "is_active",
    "is_active": "is_active",
    "role__exact": "role",
    "role": "role",
    "created_at__gte": "created_after",
    "created_at__lt": "created_before",
}
CHANGELIST_BOOKKEEPING = {"o", "p", "all", "_changelist_filters", "e"}
HIERARCHY = ("year", "month", "day")


def report_filters_from_changelist(params: dict[str, str]) -> dict[str, str]:
    """Translate the user changelist's query string into report filters (ValidationError if not).

    The date hierarchy (`created_at__year/__month/__day`) becomes a created_after/before range.
    """
    if params.get("q"):
        raise ValidationError("A report cannot reproduce a search; clear it and use the filters.")
    hierarchy = {
        part: params.pop(f"created_at__{part}")
        for part in HIERARCHY
        if f"created_at__{part}" in params
    }
    unsupported = sorted(set(params) - set(CHANGELIST_FILTERS) - CHANGELIST_BOOKKEEPING - {"q"})
    if unsupported:
        raise ValidationError(
            f"A report cannot reproduce the filter(s) {', '.join(unsupported)}; it supports "
            "active, role and a creation date range."
        )
    filters = {CHANGELIST_FILTERS[k]: v for k, v in params.items() if k in CHANGELIST_FILTERS}
    if hierarchy:
        filters.update(_hierarchy_range(hierarchy))
    return filters


def _hierarchy_range(parts: dict[str, str]) -> dict[str, str]:
    """The [start, end) of a date-hierarchy year, month or day, in the current time zone."""
    try:
        year, month, day = int(parts["year"]), int(parts.get("month", 1)), int(parts.get("day", 1))
        start = date(year, month, day)
    except (KeyError, ValueError):
        raise ValidationError("The date hierarchy selection is not a valid date.") from None
    if "day" in parts:
        end = start + timedelta(days=1)
    elif "month" in parts:
        end = date(year + month // 12, month % 12 + 1, 1)
    else:
        end = date(year + 1, 1, 1)
    return {"created_after": start.isoformat(), "created_before": end.isoformat()}


@admin.action(description="Generate CSV report of the filtered users", permissions=["view"])
def generate_csv_report(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet
) -> None:
    """Report on the changelist's current filters (every page of them), not on ticked rows:
    the checkboxes only start the action. A link to the pending report follows."""
    if not request.user.has_perm("tasks_app.add_userreport"):
        modeladmin.message_user(request, "You may not create reports.", level=messages.ERROR)
        return
    try:
        filters = report_filters_from_changelist(request.GET.dict())
        report = report_request(requested_by=request.user, filters=filters)
    except ValidationError as exc:
        modeladmin.message_user(request, " ".join(exc.messages), level=messages.ERROR)
        return
    url = reverse("admin:tasks_app_userreport_change", args=[report.pk])
    modeladmin.message_user(
        request,
        format_html(
            'Report <a href="{}">{}</a> queued for the users matching {}.',
            url,
            str(report.pk)[:8],
            ", ".join(f"{k}={v}" for k, v in report.filters.items()) or "no filter (all users)",
        ),
        level=messages.SUCCESS,
    )


@admin.register(UserReport)
class UserReportAdmin(admin.ModelAdmin):
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
        "created_at",
        "started_at",
        "finished_at",
        "duration_display",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: UserReport | None = None) -> bool:
        return False

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
        return report_file_response(report)

    def delete_model(self, request: HttpRequest, obj: UserReport) -> None:
        report_delete(report=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UserReport]) -> None:
        for report in queryset:
            report_delete(report=report)
