"""REST endpoints of the background-task app (mounted under /api/)."""

from django.urls import path

from project.routing import by_method
from tasks_app.apis.reports import (
    ReportCancelApi,
    ReportCreateApi,
    ReportDetailApi,
    ReportDownloadApi,
    ReportListApi,
    ReportRetryApi,
)
from tasks_app.apis.schedules import (
    ScheduleDetailApi,
    ScheduleListApi,
    ScheduleRunApi,
    ScheduleUpdateApi,
)
from tasks_app.apis.tasks import TaskCancelApi, TaskDetailApi, TaskListApi, TaskRetryApi

urlpatterns = [
    path("reports/", by_method(get=ReportListApi, post=ReportCreateApi), name="reports"),
    path("reports/<uuid:report_id>/", ReportDetailApi.as_view(), name="reports-detail"),
    path("reports/<uuid:report_id>/retry/", ReportRetryApi.as_view(), name="reports-retry"),
    path("reports/<uuid:report_id>/cancel/", ReportCancelApi.as_view(), name="reports-cancel"),
    path(
        "reports/<uuid:report_id>/download/", ReportDownloadApi.as_view(), name="reports-download"
    ),
    path("schedules/", ScheduleListApi.as_view(), name="schedule-list"),
    path(
        "schedules/<int:schedule_id>/",
        by_method(get=ScheduleDetailApi, patch=ScheduleUpdateApi),
        name="schedule-detail",
    ),
    path("schedules/<int:schedule_id>/run/", ScheduleRunApi.as_view(), name="schedule-run"),
    path("tasks/", TaskListApi.as_view(), name="task-list"),
    path("tasks/<str:task_id>/", TaskDetailApi.as_view(), name="task-detail"),
    path("tasks/<str:task_id>/retry/", TaskRetryApi.as_view(), name="task-retry"),
    path("tasks/<str:task_id>/cancel/", TaskCancelApi.as_view(), name="task-cancel"),
]
