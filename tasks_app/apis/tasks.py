"""`GET /api/tasks/{task_id}/`: one task's history row, for admins."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django_celery_results.models import TaskResult
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from project.errors import ERROR_RESPONSES, ErrorSerializer
from tasks_app.apis.permissions import CanViewTaskHistory
from tasks_app.selectors.task_results import (
    task_result_arguments,
    task_result_display_status,
    task_result_duration,
    task_result_value,
)


class TaskDetailApi(APIView):
    permission_classes = [CanViewTaskHistory]

    # Named apart from ReportCreateApi's "Output", which the schema would otherwise show here.
    @extend_schema_serializer(component_name="TaskResult")
    class OutputSerializer(serializers.Serializer):
        task_id = serializers.CharField()
        task_name = serializers.CharField(allow_null=True)
        args = serializers.SerializerMethodField()
        kwargs = serializers.SerializerMethodField()
        worker = serializers.CharField(allow_null=True)
        periodic_task_name = serializers.CharField(allow_null=True)
        status = serializers.SerializerMethodField()
        date_created = serializers.DateTimeField()
        date_started = serializers.DateTimeField(allow_null=True)
        date_done = serializers.DateTimeField()
        duration_seconds = serializers.SerializerMethodField()
        result = serializers.SerializerMethodField()
        traceback = serializers.CharField(allow_null=True)

        def get_args(self, obj: TaskResult) -> list | None:
            return self._arguments(obj)[0]

        def get_kwargs(self, obj: TaskResult) -> dict | None:
            return self._arguments(obj)[1]

        def _arguments(self, obj: TaskResult) -> tuple[list | None, dict | None]:
            try:
                return task_result_arguments(obj)
            except ValueError:
                return None, None

        @extend_schema_field(serializers.JSONField(allow_null=True))
        def get_result(self, obj: TaskResult):
            return task_result_value(obj)

        def get_status(self, obj: TaskResult) -> str:
            return task_result_display_status(obj)

        def get_duration_seconds(self, obj: TaskResult) -> float | None:
            duration = task_result_duration(obj)
            return duration.total_seconds() if duration is not None else None

    @extend_schema(
        operation_id="tasks_retrieve",
        responses={200: OutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request, task_id: str):
        task_result = get_object_or_404(TaskResult, task_id=task_id)
        return Response(self.OutputSerializer(task_result).data)
