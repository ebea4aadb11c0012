"""The services of docker-compose.yml as local processes, as they are deployed: their commands read
from the compose file, a venv from requirements.txt alone, the production environment, and a copy
of the source tree per process, so they share only what the configuration shares (Postgres,
Redis, the S3 bucket, the SMTP server)."""

from __future__ import annotations

import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests
import yaml

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts
from tests.support.s3 import S3Server
from tests.support.smtp import SmtpServer

ROOT = Path(__file__).resolve().parents[2]
HOST = "tasks.example.com"
# The superuser that compose's migrate step creates from DJANGO_SUPERUSER_*.
ADMIN = {"username": "ops-admin", "password": "production-shape-Admin-1"}
T = TypeVar("T")
# What a source copy leaves out: the developer's venv, local state, caches and history.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "__pycache__", ".pytest_cache", ".ruff_cache", "node_modules"
)


def compose_services() -> dict[str, dict]:
    """The services a plain `docker compose up` starts (one in a profile starts only when asked)."""
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {name: service for name, service in services.items() if not service.get("profiles")}


def long_running(services: dict[str, dict]) -> list[str]:
    """The Django processes that stay up: the web app, every worker service, beat."""
    workers = sorted(name for name in services if name.startswith("celery-worker"))
    return ["app", *workers, "celery-beat"]


def command_of(service: dict) -> list[str]:
    """A service's command as the container runs it (compose turns `$$` into `$`)."""
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    return [word.replace("$$", "$") for word in words]


def healthcheck_of(service: dict) -> list[str]:
    """A service's healthcheck as Docker runs it: `CMD` as argv, `CMD-SHELL` (or a string)
    through the shell."""
    test = service["healthcheck"]["test"]
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    kind, *words = [word.replace("$$", "$") for word in test]
    return ["sh", "-c", words[0]] if kind == "CMD-SHELL" else words


@dataclass
class Process:
    name: str
    service: dict
    popen: subprocess.Popen
    directory: Path
    env: dict[str, str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Stack:
    """Starts services into `run_dir` with `env` plus the venv's PATH; `stop()` ends them all."""

    venv: Path
    env: dict[str, str]
    run_dir: Path
    port: int
    started: list[Process] = field(default_factory=list)

    def _spawn(self, name: str, service: dict) -> Process:
        directory = self.run_dir / name
        shutil.copytree(ROOT, directory, ignore=NOT_SOURCE)
        env = {
            **self.env,
            "PATH": f"{self.venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(directory),  # nothing in a shared home (gunicorn's control socket)
        }
        log_path = self.run_dir / f"{name}.log"
        popen = processes.spawn(command_of(service), env=env, log_path=log_path, cwd=directory)
        process = Process(name, service, popen, directory, env, log_path)
        self.started.append(process)
        return process

    def run_once(self, name: str, service: dict, *, timeout: float = 120) -> None:
        """A one-shot service: started, and waited for until it exits 0."""
        process = self._spawn(name, service)
        process.popen.wait(timeout=timeout)
        assert process.popen.returncode == 0, f"{name} failed:\n{process.log()[-3000:]}"

    def start(self, name: str, service: dict) -> Process:
        return self._spawn(name, service)

    def healthcheck(self, process: Process) -> subprocess.CompletedProcess[str]:
        """Run `process`'s compose healthcheck in its directory, as Docker would in its container
        (where HOSTNAME is the container's, which a worker's node name is made from)."""
        return subprocess.run(
            healthcheck_of(process.service),
            cwd=process.directory,
            env={**process.env, "HOSTNAME": socket.gethostname()},
            capture_output=True,
            text=True,
            timeout=30,
        )

    def wait_for_web(self, timeout: float = 60) -> None:
        app = next(process for process in self.started if process.name == "app")
        wait_for(
            lambda: app.popen.poll() is not None or accepts(self.port),
            timeout=timeout,
            what="gunicorn listening",
        )
        assert app.popen.poll() is None, f"gunicorn exited:\n{app.log()[-3000:]}"

    def wait_for(self, condition: Callable[[], T], *, timeout: float, what: str) -> T:
        """`wait_for`, failing with the end of every process's log."""
        try:
            return wait_for(condition, timeout=timeout, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def http(self, token: str | None = None) -> WebClient:
        return WebClient(f"http://127.0.0.1:{self.port}", token)

    def logs(self) -> str:
        """The end of every process's log, for a failure message."""
        return "\n".join(f"--- {p.name}\n{p.log()[-2000:]}" for p in self.started)

    def stop(self) -> None:
        for process in reversed(self.started):
            processes.stop(process.popen, timeout=15)


class WebClient(requests.Session):
    """Requests as the TLS proxy in front of gunicorn forwards them: the public host name and
    `X-Forwarded-Proto: https` (DJANGO_SECURE_PROXY_SSL_HEADER trusts it)."""

    def __init__(self, base_url: str, token: str | None) -> None:
        super().__init__()
        self.base_url = base_url
        self.headers.update({"Host": HOST, "X-Forwarded-Proto": "https"})
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, self.base_url + url, *args, **kwargs)


@dataclass
class Shape:
    """The running stack and the outside services it uses."""

    stack: Stack
    s3: S3Server
    smtp: SmtpServer
    database_url: str
