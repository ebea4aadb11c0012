"""REST API for CSV reports: admins request, list, watch, download, retry and cancel them; any
user lists the reports they requested and cancels them while pending (the detail and the file,
which holds every user's data, stay with admins, as in the admin site).

One view per operation, `<Thing><Operation>Api`. The filters of a request are UserFilterSet's
(accounts.filters): the service validates them, and a bad one is a 400 naming it, like the user
list's query parameters. The list's own filters are ReportFilterSet's (tasks_app.selectors.reports).
"""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from project.errors import ERROR_RESPONSES, ErrorSerializer
from project.filters import filter_parameters, list_filters
from project.pagination import PagePagination, paginated_response
from project.serializers import StrictSerializer
from tasks_app.apis.permissions import CanRequestReports, CanViewReports
from tasks_app.downloads import report_file_response
from tasks_app.models import UserReport
from tasks_app.selectors.reports import ReportFilterSet, report_list, reports_visible_to
from tasks_app.services.reports.actions import report_cancel, report_retry
from tasks_app.services.reports.requests import report_request

MOMENT = {"type": "string", "format": "date-time"}
NO_BOUND = {"type": "string", "maxLength": 0}  # "": no bound, as in the user list's query


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": False,
        "description": (
            "The user list's filters (accounts.filters.UserFilterSet); absent: every user. "
            "created_before must be later than created_after."
        ),
        "properties": {
            "role": {"type": "string", "enum": Role.values},
            "is_active": {"type": "boolean"},
            "created_after": {"anyOf": [MOMENT, NO_BOUND], "description": "inclusive"},
            "created_before": {"anyOf": [MOMENT, NO_BOUND], "description": "exclusive"},
            "search": {"type": "string", "maxLength": 254, "description": "in username or email"},
        },
    }
)
class ReportFiltersField(serializers.DictField):
    """A report's filters: strings and booleans only, as the schema says; the service validates
    their names and values with UserFilterSet."""

    def to_internal_value(self, data):
        filters = super().to_internal_value(data)
        wrong = [name for name, value in filters.items() if not isinstance(value, str | bool)]
        if wrong:
            raise serializers.ValidationError(
                {name: ["Must be a string or a boolean."] for name in wrong}
            )
        return filters


class ReportOutputSerializer(serializers.ModelSerializer):
    requested_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of who asked for it; null from manage.py without --requested-by.",
    )
    cancelled_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Username of who cancelled it while pending; null unless cancelled.",
    )
    progress_percent = serializers.IntegerField(read_only=True)
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = UserReport
        fields = [
            "id",
            "status",
            "requested_by",
            "filters",
            "rows_written",
            "total_rows",
            "progress_percent",
            "row_count",
            "task_id",
            "error",
            "retries",
            "created_at",
            "started_at",
            "finished_at",
            "cancelled_by",
            "cancelled_at",
            "duration_seconds",
            "url",
            "download_url",
        ]

    def get_duration_seconds(self, report: UserReport) -> float | None:
        return None if report.duration is None else round(report.duration.total_seconds(), 3)

    def get_url(self, report: UserReport) -> str | None:
        """The detail, for those who may open it (admins); null in a plain user's own list."""
        if not self._admin():
            return None
        return self.context["request"].build_absolute_uri(
            reverse("reports-detail", args=[report.pk])
        )

    def get_download_url(self, report: UserReport) -> str | None:
        """Only for a completed report, and only to those who may download it (admins)."""
        if not report.is_completed() or not self._admin():
            return None
        return self.context["request"].build_absolute_uri(
            reverse("reports-download", args=[report.pk])
        )

    def _admin(self) -> bool:
        return CanViewReports().has_permission(self.context["request"], None)


class ReportCreateApi(APIView):
    """POST /api/reports/: the report row is created at once (pending) and its export enqueued."""

    permission_classes = [CanRequestReports]

    @extend_schema_serializer(component_name="ReportCreateInput")
    class InputSerializer(StrictSerializer):
        filters = ReportFiltersField(required=False, default=dict)

    class OutputSerializer(serializers.ModelSerializer):
        url = serializers.SerializerMethodField()

        class Meta:
            model = UserReport
            fields = ["id", "task_id", "status", "url"]

        def get_url(self, report: UserReport) -> str:
            return self.context["request"].build_absolute_uri(
                reverse("reports-detail", args=[report.pk])
            )

    @extend_schema(request=InputSerializer, responses={202: OutputSerializer, **ERROR_RESPONSES})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = report_request(
            requested_by=request.user, filters=serializer.validated_data["filters"]
        )
        output = self.OutputSerializer(report, context={"request": request})
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class ReportListApi(APIView):
    """GET /api/reports/: reports admins see all of; anyone else, those they requested."""

    pagination_class = PagePagination

    @extend_schema(
        operation_id="reports_list",
        summary="List reports (admins: all, with filters; others: their own)",
        parameters=filter_parameters(ReportFilterSet),
        responses={200: ReportOutputSerializer(many=True), 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        return paginated_response(
            queryset=report_list(
                user=request.user, filters=list_filters(request, ReportFilterSet, self)
            ),
            serializer_class=ReportOutputSerializer,
            request=request,
            view=self,
        )


ACTION_RESPONSES = {
    404: ErrorSerializer,
    409: OpenApiResponse(ErrorSerializer, description="The report's status does not allow it."),
    **ERROR_RESPONSES,
}


class ReportDetailApi(APIView):
    """GET /api/reports/{id}/: status, progress and, once completed, the download URL."""

    permission_classes = [CanViewReports]

    @extend_schema(responses={200: ReportOutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, report_id: str) -> Response:
        report = get_object_or_404(UserReport, pk=report_id)
        return Response(ReportOutputSerializer(report, context={"request": request}).data)


class ReportRetryApi(APIView):
    """POST /api/reports/{id}/retry/: a failed report is generated again (same row and filters)."""

    permission_classes = [CanRequestReports]

    @extend_schema(
        operation_id="reports_retry",
        request=None,
        responses={202: ReportOutputSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, report_id: str) -> Response:
        report = report_retry(report=get_object_or_404(UserReport, pk=report_id), by=request.user)
        output = ReportOutputSerializer(report, context={"request": request})
        return Response(output.data, status=status.HTTP_202_ACCEPTED)


class ReportCancelApi(APIView):
    """POST /api/reports/{id}/cancel/: a pending report is cancelled; no worker will run it."""

    @extend_schema(
        operation_id="reports_cancel",
        request=None,
        responses={200: ReportOutputSerializer, **ACTION_RESPONSES},
    )
    def post(self, request: Request, report_id: str) -> Response:
        report = get_object_or_404(reports_visible_to(request.user), pk=report_id)
        report = report_cancel(report=report, by=request.user)
        return Response(ReportOutputSerializer(report, context={"request": request}).data)


class ReportDownloadApi(APIView):
    """GET /api/reports/{id}/download/: the CSV as text/csv; 409 until the report is completed,
    410 if its file has left storage."""

    permission_classes = [CanViewReports]

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiResponse(description="The CSV file."),
            409: OpenApiResponse(ErrorSerializer, description="The report is not completed."),
            410: OpenApiResponse(ErrorSerializer, description="Its file is no longer in storage."),
            404: ErrorSerializer,
            **ERROR_RESPONSES,
        }
    )
    def get(self, request: Request, report_id: str) -> FileResponse:
        return report_file_response(get_object_or_404(UserReport, pk=report_id))
