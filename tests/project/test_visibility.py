"""Redis's visibility timeout: checked at start against what the code schedules, and an ETA that
Redis would redeliver before it is due is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from project.celery import app as celery_app
from project.env import ConfigurationWarning, load_env
from project.visibility import (
    LONGEST_RETRY_COUNTDOWN,
    EtaBeyondVisibilityTimeout,
    check_eta,
    longest_hold,
    longest_safe_delay,
    required_visibility_timeout,
    visibility_timeout_problem,
)
from tasks_app.services.emails.policy import RETRY_BACKOFF_MAX, claim_lease

ROOT = Path(__file__).resolve().parents[2]
ON_REDIS = {
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
    "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": 3600},
    "REPORT_TIME_LIMIT": 300,
}


def test_code_schedules_no_countdown_beyond_the_budget():
    assert RETRY_BACKOFF_MAX <= LONGEST_RETRY_COUNTDOWN
    assert claim_lease().total_seconds() <= LONGEST_RETRY_COUNTDOWN


def test_no_task_runs_longer_than_the_budget():
    celery_app.loader.import_default_modules()
    hold = longest_hold(report_time_limit=settings.REPORT_TIME_LIMIT)
    limits = {name: task.time_limit for name, task in celery_app.tasks.items() if task.time_limit}
    assert "tasks_app.generate_user_report" in limits
    assert max(limits.values()) <= hold, limits


def test_default_timeout_covers_the_longest_wait():
    assert required_visibility_timeout(report_time_limit=300) == 1560
    assert not visibility_timeout_problem(
        broker_url="redis://r/1", visibility_timeout=3600, report_time_limit=300
    )


def test_a_longer_report_limit_raises_the_requirement():
    problem = visibility_timeout_problem(
        broker_url="redis://r/1", visibility_timeout=3600, report_time_limit=3300
    )
    assert problem.startswith("CELERY_BROKER_VISIBILITY_TIMEOUT: 3600 s is shorter")
    assert "at least 3960" in problem


def test_brokers_without_a_visibility_timeout_are_not_checked():
    for url in ("filesystem://localhost//", "amqp://guest:guest@127.0.0.1:5672//"):
        assert not visibility_timeout_problem(
            broker_url=url, visibility_timeout=1, report_time_limit=300
        )


@pytest.mark.parametrize(
    "command",
    [["manage.py", "check"], ["-m", "celery", "-A", "project", "worker"]],
    ids=["manage.py", "worker"],
)
def test_a_too_short_timeout_stops_a_production_process_with_one_line(command):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "CELERY_BROKER_VISIBILITY_TIMEOUT": "1000",
        "CACHE_URL": "redis://127.0.0.1:6379/13",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "production-" + "x" * 40,
    }
    result = subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "configuration error: CELERY_BROKER_VISIBILITY_TIMEOUT: 1000 s is shorter than a Redis "
        "message can wait unacknowledged (600 s retry countdown + 900 s task ahead of it + 60 s); "
        "set it to at least 1560"
    ]


def test_a_too_short_timeout_is_only_a_warning_in_debug(monkeypatch):
    """Fault tests shorten it on purpose, so that a killed worker's messages come back quickly."""
    monkeypatch.setenv("DJANGO_DEBUG", "true")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
    monkeypatch.setenv("CELERY_BROKER_VISIBILITY_TIMEOUT", "10")
    with pytest.warns(ConfigurationWarning, match="set it to at least 1560"):
        assert load_env().celery.broker_visibility_timeout == 10


@override_settings(**ON_REDIS)
def test_eta_within_the_safe_delay_is_accepted():
    now = timezone.now()
    assert longest_safe_delay() == 3600 - 900 - 60
    check_eta(now + timedelta(seconds=2640), now=now)


@override_settings(**ON_REDIS)
def test_eta_beyond_the_safe_delay_is_refused():
    now = timezone.now()
    refused = "2641 s ahead; on Redis the limit is 2640"
    with pytest.raises(EtaBeyondVisibilityTimeout, match=refused):
        check_eta(now + timedelta(seconds=2641), now=now)


@override_settings(CELERY_BROKER_URL="filesystem://localhost//")
def test_any_eta_is_accepted_without_a_visibility_timeout():
    assert longest_safe_delay() is None
    check_eta(timezone.now() + timedelta(days=30))
