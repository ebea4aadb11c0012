"""Findings 1 and 10: with debug off, every process refuses a weak or placeholder secret at start,
with one line naming the variable; the development key exists only with debug on."""

from __future__ import annotations

import pytest

from project.env import DEV_SECRET_KEY
from tests.security.conftest import production_env, run_manage


@pytest.mark.parametrize(
    "key",
    ["", "x", "change-me", DEV_SECRET_KEY, "a" * 60],
    ids=["empty", "one-character", "placeholder", "dev-key", "one-repeated-character"],
)
def test_weak_secret_key_stops_the_process(tmp_path, key):
    result = run_manage(production_env(tmp_path, DJANGO_SECRET_KEY=key), "check")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: DJANGO_SECRET_KEY")


def test_unset_debug_and_empty_key_do_not_fall_back_to_the_dev_key(tmp_path):
    env = production_env(tmp_path, DJANGO_SECRET_KEY="")
    del env["DJANGO_DEBUG"]

    result = run_manage(env, "shell", "-c", "from django.conf import settings")

    assert result.returncode != 0
    assert DEV_SECRET_KEY not in result.stdout + result.stderr
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_dev_key_serves_debug_only(tmp_path):
    env = production_env(tmp_path, DJANGO_DEBUG="true", DJANGO_SECRET_KEY="")
    code = "from django.conf import settings; print(settings.SECRET_KEY)"

    result = run_manage(env, "shell", "-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == DEV_SECRET_KEY


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("POSTGRES_PASSWORD", "change-me", "POSTGRES_PASSWORD"),
        ("DATABASE_URL", "postgres://app:change-me@db:5432/app", "DATABASE_URL"),
    ],
)
def test_placeholder_database_password_stops_the_process(tmp_path, variable, value, named):
    result = run_manage(production_env(tmp_path, **{variable: value}), "check")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"configuration error: {named}")
    assert "change-me" not in lines[0]
