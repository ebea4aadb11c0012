"""Shared by the benchmarks: Django set up for a script, on a Postgres database of its own created
on demand."""

from __future__ import annotations

import os
import subprocess
from urllib.parse import urlsplit


def ensure_database(url: str) -> None:
    """Create the database named by a postgres:// URL if it does not exist yet."""
    name = urlsplit(url).path.lstrip("/")
    server = url.rsplit("/", 1)[0] + "/postgres"
    exists = subprocess.run(
        ["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{name}"'], check=True)


def setup_django() -> None:
    """What a benchmark script does before it imports models: the project's settings with debug on
    (the development key; nothing is served), its database created if missing, Django set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
