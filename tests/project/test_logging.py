"""One logging config for web and worker: LOG_FORMAT=json gives one JSON object a line, and a line
logged inside a task names the task."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from project.celery import app as celery_app
from tests.support.polling import wait_for

ROOT = Path(__file__).resolve().parents[2]
MISSING_EMAIL_LOG_ID = 987_654_321


def run_python(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", script]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def json_lines(text: str) -> list[dict]:
    """The log's JSON objects; the worker's start-up banner is printed, not logged, so it is not."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.django_db(transaction=True)
def test_worker_logs_json_with_the_task_id_and_name(start_worker):
    queue = f"logging-{uuid.uuid4().hex[:8]}"  # only this worker takes the task, not the session's
    worker = start_worker(queues=queue, LOG_FORMAT="json")
    task_id = celery_app.send_task(
        "tasks_app.send_email", kwargs={"email_log_id": MISSING_EMAIL_LOG_ID}, queue=queue
    ).id

    def task_lines() -> list[dict]:
        return [line for line in json_lines(worker.log_path.read_text()) if "task_id" in line]

    lines = wait_for(task_lines, timeout=30, what="a JSON log line from inside the task")

    skipped = next(line for line in lines if str(MISSING_EMAIL_LOG_ID) in line["message"])
    assert skipped["task_id"] == task_id
    assert skipped["task_name"] == "tasks_app.send_email"
    assert skipped["logger"] == "tasks_app.services.emails.delivery"
    assert {"time", "level", "message"} <= set(skipped)
    logged = [line for line in worker.log_path.read_text().splitlines() if " INFO " in line]
    assert not logged, f"lines in the text format under LOG_FORMAT=json: {logged[:3]}"


def test_web_process_logs_json():
    script = (
        "import django, logging; django.setup();"
        "from django.test import Client;"
        "Client().get('/no-such-page/', HTTP_HOST='localhost')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_FORMAT": "json"}
    result = run_python(script, env)

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    not_found = next(line for line in lines if line["logger"] == "django.request")
    assert not_found["level"] == "WARNING"
    assert "/no-such-page/" in not_found["message"]
    assert "task_id" not in not_found


def test_log_level_filters_lines():
    script = "import django, logging; django.setup(); logging.getLogger('x').info('quiet')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "LOG_LEVEL": "warning"}
    result = run_python(script, env)

    assert result.returncode == 0, result.stderr
    assert "quiet" not in result.stderr
