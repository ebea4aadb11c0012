"""`/api/tasks/`: the task history from enqueue to result, and retry/cancel, for admins."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from project.errors import ERROR_RESPONSES, ErrorSerializer
from project.filters import filter_parameters, list_filters
from project.pagination import NewestFirstPagination, paginated_response
from tasks_app.apis.permissions import CanChangeTaskHistory, CanViewTaskHistory
from tasks_app.filters import TaskFilterSet
from tasks_app.selectors.ledger import task_attempts, task_get, task_list, task_status
from tasks_app.selectors.task_results import (
    task_result_arguments,
    task_result_duration,
    task_result_value,
)
from tasks_app.services.task_actions import task_cancel, task_retry


class TaskSummarySerializer(serializers.Serializer):
    task_id = serializers.CharField()
    task_name = serializers.CharField(allow_null=True)
    status = serializers.SerializerMethodField()
    queue = serializers.CharField(source="record.queue", default=None, allow_null=True)
    trigger = serializers.CharField(source="record.trigger", default=None, allow_null=True)
    triggered_by = serializers.CharField(
        source="record.triggered_by.username", default=None, allow_null=True
    )
    trigger_label = serializers.CharField(
        source="record.trigger_label", default=None, allow_null=True
    )
    schedule = serializers.CharField(source="periodic_task_name", allow_null=True)
    eta = serializers.DateTimeField(source="record.eta", default=None, allow_null=True)
    worker = serializers.CharField(allow_null=True)
    date_created = serializers.DateTimeField()
    date_started = serializers.DateTimeField(allow_null=True)
    date_done = serializers.DateTimeField()
    duration_seconds = serializers.SerializerMethodField()

    def get_status(self, obj) -> str:
        return task_status(obj)

    def get_duration_seconds(self, obj) -> float | None:
        duration = task_result_duration(obj)
        return duration.total_seconds() if duration is not None else None


class AttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    worker = serializers.CharField()
    received_at = serializers.DateTimeField(allow_null=True)
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    wait_seconds = serializers.FloatField(allow_null=True)
    runtime_seconds = serializers.FloatField(allow_null=True)
    outcome = serializers.CharField(
        help_text="running, success, failure, retry, ignored or lost (its worker died); "
        "a running attempt before the last one was lost too."
    )
    error = serializers.CharField()


# Named apart from ReportCreateApi's "Output", which the schema would otherwise show here.
@extend_schema_serializer(component_name="TaskResult")
class TaskDetailSerializer(TaskSummarySerializer):
    args = serializers.SerializerMethodField()
    kwargs = serializers.SerializerMethodField()
    periodic_task_name = serializers.CharField(allow_null=True)
    published_at = serializers.DateTimeField(
        source="record.published_at", default=None, allow_null=True
    )
    cancelled_at = serializers.DateTimeField(
        source="record.cancelled_at", default=None, allow_null=True
    )
    cancelled_by = serializers.CharField(
        source="record.cancelled_by.username", default=None, allow_null=True
    )
    result = serializers.SerializerMethodField()
    traceback = serializers.CharField(allow_null=True)
    attempts = serializers.SerializerMethodField()

    def get_args(self, obj) -> list | None:
        return self._arguments(obj)[0]

    def get_kwargs(self, obj) -> dict | None:
        return self._arguments(obj)[1]

    def _arguments(self, obj) -> tuple[list | None, dict | None]:
        try:
            return task_result_arguments(obj)
        except ValueError:
            return None, None

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_result(self, obj):
        return task_result_value(obj)

    @extend_schema_field(AttemptSerializer(many=True))
    def get_attempts(self, obj) -> list:
        return AttemptSerializer(task_attempts(obj.task_id), many=True).data


class TaskListApi(APIView):
    permission_classes = [CanViewTaskHistory]
    pagination_class = NewestFirstPagination

    @extend_schema(
        operation_id="tasks_list",
        summary="The task history, newest first (admins)",
        parameters=filter_parameters(TaskFilterSet),
        responses={200: TaskSummarySerializer(many=True), 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request) -> Response:
        try:
            queryset = task_list(filters=list_filters(request, TaskFilterSet, self))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return paginated_response(
            queryset=queryset, serializer_class=TaskSummarySerializer, request=request, view=self
        )


class TaskDetailApi(APIView):
    permission_classes = [CanViewTaskHistory]

    @extend_schema(
        operation_id="tasks_retrieve",
        summary="One task: from its enqueue (with what triggered it) to its attempts and result",
        responses={200: TaskDetailSerializer, 404: ErrorSerializer, **ERROR_RESPONSES},
    )
    def get(self, request: Request, task_id: str) -> Response:
        return Response(TaskDetailSerializer(_task_or_404(task_id)).data)


@extend_schema_serializer(component_name="TaskActionDone")
class ActionSerializer(serializers.Serializer):
    detail = serializers.CharField()
    task_id = serializers.CharField(allow_null=True, help_text="The retry's new task.")


class TaskRetryApi(APIView):
    permission_classes = [CanChangeTaskHistory]

    @extend_schema(
        operation_id="tasks_retry",
        summary="Do a failed task's work again (email resent, report regenerated, rerun)",
        request=None,
        responses={
            202: ActionSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request, task_id: str) -> Response:
        return _act(task_retry, task_id, request)


class TaskCancelApi(APIView):
    permission_classes = [CanChangeTaskHistory]

    @extend_schema(
        operation_id="tasks_cancel",
        summary="Stop a task that has not started from running",
        request=None,
        responses={
            200: ActionSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            **ERROR_RESPONSES,
        },
    )
    def post(self, request: Request, task_id: str) -> Response:
        return _act(task_cancel, task_id, request)


def _task_or_404(task_id: str):
    result = task_get(task_id)
    if result is None:
        raise Http404(f"No task {task_id}.")
    return result


def _act(action, task_id: str, request: Request) -> Response:
    """A refusal (TaskActionRefused) is a 409 with the project's error body."""
    done = action(result=_task_or_404(task_id), by=request.user)
    code = status.HTTP_202_ACCEPTED if done.task_id else status.HTTP_200_OK
    return Response({"detail": done.message, "task_id": done.task_id}, status=code)
