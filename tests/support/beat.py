"""A real `celery -A project beat` subprocess (database scheduler), started and stopped by pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

from tests.support.worker import BASE_DIR, LOG_DIR, worker_env


class CeleryBeat:
    def __init__(self, **env: str) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"beat-{uuid.uuid4().hex[:8]}.log"

    def start(self) -> CeleryBeat:
        command = [
            sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel=INFO",
            "--scheduler=tasks_app.scheduler:DatabaseScheduler",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=BASE_DIR, env=worker_env(**self.env), stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def stop(self, timeout: float = 10) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def count(self, text: str) -> int:
        return self.log().count(text)
