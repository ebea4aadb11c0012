"""The web app as deployed (gunicorn with project/gunicorn.py), on a free port, against the test
database and the broker of the test's choosing; and a JSON client for its REST API."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port
from tests.support.worker import LOG_DIR, worker_env


class WebServer:
    def __init__(self, *, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.env = {
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "HOME": tempfile.mkdtemp(prefix="gunicorn-"),  # its control socket goes under $HOME
            **env,
        }
        self.process: subprocess.Popen | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"web-{uuid.uuid4().hex[:8]}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WebServer:
        command = [
            sys.executable, "-m", "gunicorn", "project.wsgi:application",
            "--config", "python:project.gunicorn",
        ]  # fmt: skip
        self.process = processes.spawn(command, env=worker_env(**self.env), log_path=self.log_path)
        wait_for(
            lambda: self.process.poll() is not None or accepts(self.port),
            timeout=30,
            what="gunicorn listening",
        )
        assert self.process.poll() is None, self.log()
        return self

    def stop(self) -> None:
        if self.process:
            processes.stop(self.process)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(
        self, method: str, path: str, body: dict | None = None, *, token: str = ""
    ) -> tuple[int, dict, float]:
        """(status, JSON body, seconds taken); a timeout after 10 s fails the test."""
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "Host": "localhost"},
        )
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        took = time.monotonic() - started
        return status, json.loads(raw or b"{}"), took

    def login(self, username: str, password: str) -> str:
        status, body, _ = self.request(
            "POST", "/api/auth/login/", {"username": username, "password": password}
        )
        assert status == 200, body
        return body["token"]
