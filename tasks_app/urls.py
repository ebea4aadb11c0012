"""REST endpoints of the background-task app (mounted under /api/)."""

from django.urls import path

from tasks_app.apis.reports import ReportCreateApi, ReportDetailApi, ReportDownloadApi

urlpatterns: list = []
urlpatterns += [
    path("reports/", ReportCreateApi.as_view(), name="reports-create"),
    path("reports/<uuid:report_id>/", ReportDetailApi.as_view(), name="reports-detail"),
    path(
        "reports/<uuid:report_id>/download/", ReportDownloadApi.as_view(), name="reports-download"
    ),
]
