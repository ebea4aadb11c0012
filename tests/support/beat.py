"""A real `celery -A project beat` subprocess (database scheduler), started and stopped by pid."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.support import processes
from tests.support.worker import LOG_DIR, worker_env


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
        self.process = processes.spawn(command, env=worker_env(**self.env), log_path=self.log_path)
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: no shutdown, no last sync of its schedule."""
        if self.process:
            processes.kill(self.process)

    def stop(self, timeout: float = 10) -> None:
        if self.process:
            processes.stop(self.process, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def count(self, text: str) -> int:
        return self.log().count(text)
