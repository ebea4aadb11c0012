"""A private redis-server (never the shared one): safe to stop and start in a fault test."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port


class RedisServer:
    """`persistent=True` keeps the data in an append-only file across a restart, as
    docker-compose's Redis does (`--appendonly yes`); else a restart empties it."""

    def __init__(self, *, persistent: bool = False) -> None:
        self.persistent = persistent
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [
            shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
            "--bind", "127.0.0.1", "--save", "", "--dir", str(self.dir),
            "--appendonly", "yes" if self.persistent else "no",
        ]  # fmt: skip
        self.process = processes.spawn(command)
        wait_for(lambda: accepts(self.port), timeout=10, interval=0.05, what="redis-server")
        return self

    def stop(self) -> None:
        if self.process:
            processes.stop(self.process)
        wait_for(lambda: not accepts(self.port), timeout=10, what="redis-server to stop")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
