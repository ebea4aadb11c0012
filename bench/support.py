"""Shared by the benchmarks: each runs against a Postgres database of its own, created on demand."""

from __future__ import annotations

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
