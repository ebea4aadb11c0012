"""The production shape end to end, over HTTP to gunicorn: docker-compose.yml's processes, each from
its own copy of the source, with a requirements.txt-only venv and the production environment
(tests/production/conftest.py). Runs on Postgres + Redis (CI); skips on the embedded default."""

from __future__ import annotations

import datetime

import psycopg
import pytest

from tests.production.stack import ADMIN, Shape

pytestmark = [pytest.mark.production, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def admin_token(shape: Shape) -> str:
    response = shape.stack.http().post("/api/auth/login/", json=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_health_is_ok_once_web_workers_and_beat_run(shape):
    web = shape.stack.http()
    health = shape.stack.wait_for(
        lambda: (response := web.get("/api/health/")).status_code == 200 and response,
        timeout=60,
        what="/api/health/ to answer 200",
    )
    assert health.json()["status"] == "up"


def test_every_healthcheck_in_compose_passes_against_its_process(shape):
    for process in shape.stack.started:
        if process.name == "migrate":
            continue
        result = shape.stack.healthcheck(process)
        assert result.returncode == 0, f"{process.name}: {result.stdout}{result.stderr}"


def test_superuser_from_the_migrate_step_logs_in(shape, admin_token):
    me = shape.stack.http(admin_token).get("/api/users/me/")
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"]) == (ADMIN["username"], "SUPER_ADMIN")


def test_created_user_gets_the_welcome_email_through_smtp(shape, admin_token):
    user = {"username": "newcomer", "email": "newcomer@example.com", "role": "USER"}
    response = shape.stack.http(admin_token).post(
        "/api/users/", json={**user, "password": "a-long-Password-9"}
    )
    assert response.status_code == 201, response.text

    received = shape.stack.wait_for(
        lambda: shape.smtp.handler.to(user["email"]), timeout=30, what="the welcome email"
    )
    assert len(received) == 1
    assert "newcomer" in received[0].part("plain")


def test_report_written_by_a_worker_downloads_through_the_web_process(shape, admin_token):
    web = shape.stack.http(admin_token)
    response = web.post("/api/reports/", json={"filters": {}})
    assert response.status_code == 202, response.text
    detail_url = f"/api/reports/{response.json()['id']}/"

    report = shape.stack.wait_for(
        lambda: (body := web.get(detail_url).json())["status"] in ("completed", "failed") and body,
        timeout=60,
        what="the report to finish",
    )
    assert report["status"] == "completed", report
    download = web.get(f"/api/reports/{report['id']}/download/")
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"].startswith("text/csv")
    assert ADMIN["username"] in download.text

    stored = shape.s3.client().list_objects_v2(Bucket=shape.s3.bucket)["Contents"]
    assert [item["Key"] for item in stored if item["Key"].startswith("reports/")]
    on_disk = [
        path
        for process in shape.stack.started
        for path in (process.directory / "var").rglob("*.csv")
    ]
    assert not on_disk, "the report is in the bucket only, not in a process's directory"


def test_changed_schedule_is_picked_up_by_beat(shape, admin_token):
    web = shape.stack.http(admin_token)
    schedules = {row["name"]: row for row in web.get("/api/schedules/").json()}
    cleanup = schedules["cleanup-expired-sessions"]
    changed_at = datetime.datetime.now(datetime.UTC)

    response = web.patch(
        f"/api/schedules/{cleanup['id']}/",
        json={"interval": {"every": 10, "period": "seconds"}},  # the floor
    )
    assert response.status_code == 200, response.text

    def runs_since_the_change() -> int:
        with psycopg.connect(shape.database_url) as connection:
            return connection.execute(
                "SELECT count(*) FROM django_celery_results_taskresult"
                " WHERE task_name = %s AND status = 'SUCCESS' AND date_created > %s",
                (cleanup["task"], changed_at),
            ).fetchone()[0]

    shape.stack.wait_for(
        lambda: runs_since_the_change() >= 2, timeout=45, what="two runs sent by beat"
    )
