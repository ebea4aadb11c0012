"""Flower as the Procfile starts it, on a port of the test's choosing."""

from __future__ import annotations

import shlex
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode
from pathlib import Path

from tests.support import processes
from tests.support.processes import BASE_DIR


def procfile_flower(port: int) -> list[str]:
    """The Procfile's `flower:` command, run by this interpreter, listening on `port`."""
    line = next(
        line
        for line in (BASE_DIR / "Procfile").read_text().splitlines()
        if line.startswith("flower:")
    )
    command = shlex.split(line.partition(":")[2])
    assert command[:3] == ["celery", "-A", "project"]
    return [
        sys.executable,
        "-m",
        "celery",
        *command[1:3],
        *[a for a in command[3:] if not a.startswith("--port")],
        f"--port={port}",
    ]


def start_flower(port: int, *, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Flower in a process group of its own (stop it with `processes.stop`)."""
    return processes.spawn(procfile_flower(port), env=env, log_path=log_path)


def http_status(url: str, auth: str | None = None) -> int | None:
    """The status of a GET (with basic auth `user:password`), or None if nothing answers."""
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None
