"""A production install is exactly requirements.txt, every package pinned and hashed, and it works:
a venv built from it alone imports every app and the storage, reaches Redis and passes the checks.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.s3 import S3Server
from tests.support.services import redis_url, require
from tests.support.venv import production_venv

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ["requirements.txt", "requirements-dev.txt"]
DEV_ONLY = ["honcho", "pytest", "ruff", "aiosmtpd", "schemathesis", "moto", "pip-tools"]


def requirements(lock: str) -> dict[str, str]:
    """Each requirement of a lock (its continuation lines joined), by package name."""
    text = (ROOT / lock).read_text().replace("\\\n", " ")
    entries = [line.strip() for line in text.splitlines()]
    entries = [entry for entry in entries if entry and not entry.startswith("#")]
    return {re.split(r"[=<>~!\[ ;]", entry, maxsplit=1)[0].lower(): entry for entry in entries}


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_is_pinned_with_hashes(lock):
    for name, entry in requirements(lock).items():
        assert re.match(rf"^{re.escape(name)}==[^ ]+ ", entry, re.I), f"{lock}: not pinned: {entry}"
        assert "--hash=sha256:" in entry, f"{lock}: no hash: {entry}"


def test_locks_match_their_in_files():
    """`make lock` has run since the .in files last changed: each direct pin is in its lock."""
    for source, lock in [("requirements.in", LOCKS[0]), ("requirements-dev.in", LOCKS[1])]:
        locked = requirements(lock)
        for name, entry in requirements(source).items():
            if name.startswith("-"):
                continue
            assert name in locked, f"{name} is in {source} but not in {lock}: run `make lock`"
            pin = re.search(r"==([^ ]+)", entry)
            if pin:
                assert f"=={pin.group(1)} " in locked[name], f"{name}: run `make lock`"


def test_development_tools_stay_out_of_production():
    production = requirements("requirements.txt")
    assert not set(DEV_ONLY) & set(production)
    assert set(DEV_ONLY) <= set(requirements("requirements-dev.txt"))
    assert set(production) <= set(requirements("requirements-dev.txt"))


def test_dockerfile_installs_the_production_lock_only():
    installs = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "pip " in line]
    assert installs == ["RUN pip install --require-hashes -r requirements.txt"]


IMPORT_EVERYTHING = """
import importlib
import django
django.setup()
from django.apps import apps
from django.conf import settings
from django.core.files.storage import storages
from kombu import Connection
from project.celery import app
for config in apps.get_app_configs():
    importlib.import_module(config.name)
importlib.import_module(settings.ROOT_URLCONF)  # every view, API and admin module
app.loader.import_default_modules()  # every task module
print(type(storages["default"]).__module__)
with Connection(settings.CELERY_BROKER_URL) as connection:
    connection.ensure_connection(max_retries=1)
print("broker ok")
"""


@pytest.mark.slow
def test_a_venv_from_requirements_txt_alone_runs_the_project(tmp_path):
    broker = redis_url()
    require("Redis", broker)
    venv = production_venv(Path(settings.MEDIA_ROOT).parent)
    bucket = S3Server(endpoint_url="http://127.0.0.1:9", bucket="reports")  # never contacted
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "production-shape-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "tasks.example.com",
        "VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": broker,
        "LOG_FORMAT": "json",
        **bucket.env(),
    }

    def run(*command: str) -> str:
        result = subprocess.run(
            [venv / "bin/python", *command],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
        return result.stdout

    output = run("-c", IMPORT_EVERYTHING)
    assert "storages.backends.s3" in output
    assert "broker ok" in output
    run("manage.py", "check")
    run("-m", "gunicorn", "--check-config", "project.wsgi:application")
    run("-m", "celery", "-A", "project", "report")
