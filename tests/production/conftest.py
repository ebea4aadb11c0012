"""The production shape, started once for the tests of this folder: the processes of
docker-compose.yml (tests/production/stack.py) against Postgres, Redis, moto's S3 server and
aiosmtpd, stopped at the end whatever happened."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from psycopg import sql

from tests.production.stack import (
    ADMIN,
    HOST,
    ROOT,
    Shape,
    Stack,
    compose_services,
    long_running,
)
from tests.support.ports import free_port
from tests.support.s3 import running_s3_server
from tests.support.services import require
from tests.support.smtp import SmtpServer
from tests.support.venv import production_venv


def postgres_server() -> dict[str, object]:
    """The Postgres server the suite runs on; the production shape gets a database of its own."""
    database = settings.DATABASES["default"]
    if connection.vendor != "postgresql":
        pytest.skip(
            "the production shape runs on Postgres + Redis, as deployed: run with "
            "DATABASE_URL=postgres://... (CI does); the embedded default has neither"
        )
    return {
        "host": database["HOST"] or "127.0.0.1",
        "port": int(database["PORT"] or 5432),
        "user": database["USER"],
        "password": database["PASSWORD"] or None,
    }


@contextmanager
def own_database(server: dict[str, object], name: str) -> Iterator[str]:
    """A new, empty database `name` (one a killed run left behind is replaced); dropped after."""

    def execute(statement: str) -> None:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as connection:
            connection.execute(sql.SQL(statement).format(sql.Identifier(name)))

    execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")
    execute("CREATE DATABASE {}")
    user = quote(str(server["user"]))
    if server["password"]:
        user += f":{quote(str(server['password']))}"
    try:
        yield f"postgres://{user}@{server['host']}:{server['port']}/{name}"
    finally:
        execute("DROP DATABASE IF EXISTS {} WITH (FORCE)")


@pytest.fixture(scope="module")
def shape() -> Iterator[Shape]:
    server = postgres_server()
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    require("Redis", redis_url)
    venv = production_venv(Path(settings.MEDIA_ROOT).parent)
    run_dir = ROOT / "var" / "test" / "production"
    shutil.rmtree(run_dir, ignore_errors=True)  # the copies and logs of the previous run
    run_dir.mkdir(parents=True)
    # A spare Redis database (not the suite's broker, whose workers would take these tasks),
    # emptied of what an interrupted run left in it.
    redis.Redis.from_url(redis_url).flushdb()
    name = f"{str(settings.DATABASES['default']['NAME']).removeprefix('test_')}_production"
    smtp = SmtpServer().start()
    try:
        with running_s3_server() as s3, own_database(server, name) as database_url:
            port = free_port()
            env = {
                "LANG": "C.UTF-8",
                # DJANGO_DEBUG stays unset: off is the default, as in production.
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_ALLOWED_HOSTS": HOST,
                "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": redis_url,
                "CELERY_RESULT_BACKEND": "django-db",
                "CACHE_URL": redis_url,
                **s3.env(),
                **smtp.worker_env(),
                "DJANGO_SUPERUSER_USERNAME": ADMIN["username"],
                "DJANGO_SUPERUSER_EMAIL": "ops-admin@example.com",
                "DJANGO_SUPERUSER_PASSWORD": ADMIN["password"],
                "GUNICORN_BIND": f"127.0.0.1:{port}",
                "WEB_CONCURRENCY": "2",
                "CELERY_WORKER_CONCURRENCY": "2",
                "LOG_FORMAT": "json",
            }
            stack = Stack(venv=venv, env=env, run_dir=run_dir, port=port)
            services = compose_services()
            try:
                for service in ["migrate", *long_running(services)]:
                    missing = set(services[service]["environment"]) - set(env) - {"DJANGO_DEBUG"}
                    assert not missing, f"{service}: compose sets {missing}, this test does not"
                stack.run_once("migrate", services["migrate"])
                for service in long_running(services):
                    stack.start(service, services[service])
                stack.wait_for_web()
                yield Shape(stack, s3, smtp, database_url)
            finally:
                stack.stop()
    finally:
        smtp.stop()
