"""REST API for CSV reports (admins only): request one, watch it, download it.

One view per operation, `<Thing><Operation>Api`. The filters of a request are UserFilterSet's
(accounts.filters): the service validates them, and a bad one is a 400 naming it, like the user
list's query parameters.
"""

from __future__ import annotations

from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Role
from project.errors import ERROR_RESPONSES, ErrorSerializer
from tasks_app.apis.permissions import CanRequestReports, CanViewReports
from tasks_app.downloads import report_file_response
from tasks_app.models import UserReport
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
    progress_percent = serializers.IntegerField(read_only=True)
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = UserReport
        fields = [
            "id",
            "status",
            "filters",
            "rows_written",
            "total_rows",
            "progress_percent",
            "row_count",
            "task_id",
            "error",
            "created_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "url",
            "download_url",
        ]

    def get_duration_seconds(self, report: UserReport) -> float | None:
        return None if report.duration is None else round(report.duration.total_seconds(), 3)

    def get_url(self, report: UserReport) -> str:
        return self.context["request"].build_absolute_uri(
            reverse("reports-detail", args=[report.pk])
        )

    def get_download_url(self, report: UserReport) -> str | None:
        if not report.is_completed():
            return None
        return self.context["request"].build_absolute_uri(
            reverse("reports-download", args=[report.pk])
        )


class ReportCreateApi(APIView):
    """POST /api/reports/: the report row is created at once (pending) and its export enqueued."""

    permission_classes = [CanRequestReports]

    class InputSerializer(serializers.Serializer):
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


class ReportDetailApi(APIView):
    """GET /api/reports/{id}/: status, progress and, once completed, the download URL."""

    permission_classes = [CanViewReports]

    @extend_schema(responses={200: ReportOutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES})
    def get(self, request: Request, report_id: str) -> Response:
        report = get_object_or_404(UserReport, pk=report_id)
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
