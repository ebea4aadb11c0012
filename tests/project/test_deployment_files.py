"""docker-compose.yml, the Dockerfile, the Procfile and .env.example agree with the code.

No Docker engine runs here, so these checks read the files: every command names a module or
entry point that exists, every variable set is one the settings read, and no secret is written in.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from project.env import variable_names

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Every worker service (one per queue, say) is a Django process like the app and beat.
WORKER_SERVICES = sorted(name for name in SERVICES if name.startswith("celery-worker"))
DJANGO_SERVICES = ["migrate", "app", *WORKER_SERVICES, "celery-beat"]
PYTHON_SERVICES = [*DJANGO_SERVICES, "flower"]
# Read by a process other than Django's settings: Flower, createsuperuser, the postgres image,
# Grafana (compose's monitoring profile).
PROCESS_VARIABLES = {
    "FLOWER_BASIC_AUTH",
    "FLOWER_ADDRESS",
    "DJANGO_SUPERUSER_USERNAME",
    "DJANGO_SUPERUSER_EMAIL",
    "DJANGO_SUPERUSER_PASSWORD",
    "GUNICORN_BIND",
    "WEB_CONCURRENCY",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DB",
    "RABBITMQ_PASSWORD",
    "GRAFANA_ADMIN_PASSWORD",
}
# Jobs that run once and exit (the storage's bucket creation): waited for until they succeed.
ONE_SHOT_SERVICES = {
    "minio-bucket": "service_completed_successfully",
    "migrate": "service_completed_successfully",
}
SECRET_NAMES = re.compile(r"PASSWORD|SECRET|BASIC_AUTH|TOKEN|KEY")
INTERPOLATION = re.compile(r"^\$\{[A-Z_]+(:?[-?][^}]*)?\}$")


def module_exists(dotted: str) -> bool:
    return importlib.util.find_spec(dotted) is not None


def command_targets(command: str) -> list[str]:
    """The project modules a service command needs (celery -A X, gunicorn X:app, manage.py)."""
    words = shlex.split(command.replace("&&", " ; "))
    targets = []
    for i, word in enumerate(words):
        if " " in word:  # sh -c "..."
            targets += command_targets(word)
        elif word == "-A":
            targets.append(words[i + 1])
        elif word == "gunicorn":
            targets.append(words[i + 1].split(":")[0])
        elif word == "manage.py":
            targets.append("manage")
    return targets


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_python_service_commands_refer_to_existing_modules(name):
    service = SERVICES[name]
    command = service["command"]
    targets = command_targets(command)
    assert targets, f"{name}: no project module in {command!r}"
    for target in targets:
        assert module_exists(target), f"{name}: {target} does not exist"
    assert service["build"] == ".", "the Python services share the one Dockerfile"


@pytest.mark.parametrize("name", PYTHON_SERVICES)
def test_python_service_variables_are_read_by_the_settings(name):
    known = variable_names() | PROCESS_VARIABLES
    assert set(SERVICES[name]["environment"]) <= known


def test_no_secret_is_hard_coded():
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET_NAMES.search(variable):
                assert INTERPOLATION.match(str(value)), f"{name}.{variable} is hard-coded"
            assert "change-me" not in str(value)
    database_url = SERVICES["app"]["environment"]["DATABASE_URL"]
    assert "${POSTGRES_PASSWORD" in database_url


def test_every_long_running_service_has_a_healthcheck():
    for name, service in SERVICES.items():
        if name in ONE_SHOT_SERVICES:
            assert service["restart"] == "no", f"{name} runs once and exits"
        else:
            assert "test" in service.get("healthcheck", {}), f"{name} has no healthcheck"


def test_beat_is_checked_through_its_heartbeat():
    test = SERVICES["celery-beat"]["healthcheck"]["test"]
    assert test == ["CMD", "python", "manage.py", "beat_health"]
    assert module_exists("tasks_app.management.commands.beat_health")


@pytest.mark.parametrize("name", DJANGO_SERVICES)
def test_every_django_process_shares_the_cache_on_redis(name):
    assert SERVICES[name]["environment"]["CACHE_URL"].startswith("redis://redis:6379/")


def test_app_starts_after_migrations_and_the_first_superuser():
    assert SERVICES["app"]["depends_on"]["migrate"] == {
        "condition": "service_completed_successfully"
    }
    words = shlex.split(SERVICES["migrate"]["command"])
    assert words[:2] == ["sh", "-c"]
    steps = [step.split() for step in words[2].split("&&")]
    assert steps == [
        ["python", "manage.py", "migrate", "--no-input"],
        ["python", "manage.py", "ensure_superuser"],
    ]


def test_gunicorn_runs_with_the_project_config():
    command = "gunicorn project.wsgi:application --config python:project.gunicorn"
    assert SERVICES["app"]["command"] == command
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"CMD {json.dumps(command.split())}" in dockerfile


def test_services_wait_for_healthy_dependencies():
    for name in PYTHON_SERVICES:
        for dependency, condition in SERVICES[name]["depends_on"].items():
            expected = ONE_SHOT_SERVICES.get(dependency, "service_healthy")
            assert condition == {"condition": expected}, f"{name} -> {dependency}"


def test_flower_is_never_open():
    flower = SERVICES["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"].startswith("${FLOWER_BASIC_AUTH:?")
    assert "--persistent=False" in flower["command"]
    assert "--conf=flowerconfig.py" in flower["command"]  # refuses to start without basic auth


def test_env_example_lists_every_variable_the_settings_read():
    listed = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert variable_names() <= listed
    assert listed <= variable_names() | PROCESS_VARIABLES


def test_procfile_runs_web_worker_and_beat_from_this_project():
    processes = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert {"web", "worker", "beat"} <= set(processes)
    for command in processes.values():
        for target in command_targets(command):
            assert module_exists(target)
    assert "--conf=flowerconfig.py" in processes["flower"]
