"""`/api/schedules/`: schedules, editable at run time by admins (beat picks changes up)."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from drf_spectacular.utils import extend_schema, extend_schema_serializer, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from project.errors import ERROR_RESPONSES, ErrorSerializer
from project.serializers import StrictSerializer
from tasks_app.apis.permissions import CanChangeSchedules, CanViewSchedules
from tasks_app.selectors.schedules import (
    schedule_list_with_outcomes,
    schedule_missed_due,
    schedule_next_run,
)
from tasks_app.services.schedules import (
    schedule_check_interval,
    schedule_run_now,
    schedule_update,
)


class IntervalSerializer(StrictSerializer):
    every = serializers.IntegerField(
        min_value=1,
        # Past it no timedelta holds the interval (beat's schedule is one), nor a 32-bit column.
        max_value=999_999_999,
        help_text="At least SCHEDULE_MIN_INTERVAL_SECONDS (10 s) in all.",
    )
    period = serializers.ChoiceField(choices=IntervalSchedule.PERIOD_CHOICES)

    def validate(self, attrs):
        schedule_check_interval(**attrs)  # the floor: a 400 naming `every`
        return attrs


class CrontabSerializer(StrictSerializer):
    minute = serializers.CharField(max_length=240, default="*")
    hour = serializers.CharField(max_length=96, default="*")
    day_of_week = serializers.CharField(max_length=64, default="*")
    day_of_month = serializers.CharField(max_length=124, default="*")
    month_of_year = serializers.CharField(max_length=64, default="*")
    timezone = serializers.ChoiceField(choices=sorted(available_timezones()), default="UTC")

    def validate(self, attrs):
        try:  # the model's own validators: "61" minutes or an unknown time zone are refused here
            CrontabSchedule(**attrs).full_clean(validate_unique=False)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class ScheduleOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    task = serializers.CharField()
    enabled = serializers.BooleanField()
    interval = serializers.SerializerMethodField()
    crontab = serializers.SerializerMethodField()
    queue = serializers.CharField(allow_null=True)
    priority = serializers.IntegerField(allow_null=True)
    last_run_at = serializers.DateTimeField(allow_null=True)
    next_run_at = serializers.SerializerMethodField()
    total_run_count = serializers.IntegerField()
    last_sent_at = serializers.DateTimeField(
        allow_null=True, help_text="When its newest run in the history was sent."
    )
    last_outcome = serializers.CharField(
        source="last_status", allow_null=True, help_text="The state of its latest run."
    )
    missed = serializers.SerializerMethodField(help_text="A due run did not happen.")
    missed_due_at = serializers.SerializerMethodField(
        help_text='When that run was due (docs/schedules.md, "Missed runs").'
    )

    def get_interval(self, obj: PeriodicTask) -> dict | None:
        return IntervalSerializer(obj.interval).data if obj.interval else None

    def get_crontab(self, obj: PeriodicTask) -> dict | None:
        if not obj.crontab:
            return None
        data = CrontabSerializer(obj.crontab).data
        data["timezone"] = str(obj.crontab.timezone)
        return data

    def get_next_run_at(self, obj: PeriodicTask) -> str | None:
        next_run = schedule_next_run(obj)
        return next_run.isoformat() if next_run else None

    def get_missed(self, obj: PeriodicTask) -> bool:
        return self.get_missed_due_at(obj) is not None

    def get_missed_due_at(self, obj: PeriodicTask) -> str | None:
        due = schedule_missed_due(obj, last_sent_at=obj.last_sent_at)
        return due.isoformat() if due else None


SCHEDULE_RESPONSES = {200: ScheduleOutputSerializer, 404: ErrorSerializer, **ERROR_RESPONSES}


class ScheduleListApi(APIView):
    permission_classes = [CanViewSchedules]

    @extend_schema(
        operation_id="schedules_list",
        responses={200: ScheduleOutputSerializer(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        return Response(ScheduleOutputSerializer(schedule_list_with_outcomes(), many=True).data)


class ScheduleDetailApi(APIView):
    permission_classes = [CanViewSchedules]

    @extend_schema(operation_id="schedules_retrieve", responses=SCHEDULE_RESPONSES)
    def get(self, request, schedule_id: int):
        schedule = get_object_or_404(schedule_list_with_outcomes(), pk=schedule_id)
        return Response(ScheduleOutputSerializer(schedule).data)


class ScheduleUpdateApi(APIView):
    """Change `enabled`, and either `interval` or `crontab`."""

    permission_classes = [CanChangeSchedules]

    @extend_schema_serializer(component_name="ScheduleUpdateInput")
    class InputSerializer(StrictSerializer):
        enabled = serializers.BooleanField(required=False)
        interval = IntervalSerializer(required=False)
        crontab = CrontabSerializer(required=False)

        def validate(self, attrs):
            if "interval" in attrs and "crontab" in attrs:
                raise serializers.ValidationError("Give either an interval or a crontab, not both.")
            return attrs

    @extend_schema(
        operation_id="schedules_update",
        request=InputSerializer,
        responses=SCHEDULE_RESPONSES,
    )
    def patch(self, request, schedule_id: int):
        schedule = get_object_or_404(schedule_list_with_outcomes(), pk=schedule_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        schedule = schedule_update(schedule=schedule, **serializer.validated_data)
        return Response(ScheduleOutputSerializer(schedule).data)


class ScheduleRunApi(APIView):
    """Send the task once now, with the schedule's queue, expiry, priority and headers."""

    permission_classes = [CanChangeSchedules]

    @extend_schema(
        operation_id="schedules_run",
        request=None,
        responses={
            202: inline_serializer("ScheduleRun", {"task_id": serializers.CharField()}),
            404: ErrorSerializer,
            **ERROR_RESPONSES,
        },
    )
    def post(self, request, schedule_id: int):
        schedule = get_object_or_404(PeriodicTask, pk=schedule_id)
        task_id = schedule_run_now(schedule=schedule)
        return Response({"task_id": task_id}, status=status.HTTP_202_ACCEPTED)
