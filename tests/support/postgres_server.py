"""A private Postgres cluster (never the shared server): safe to stop and start in a fault test.

initdb in a temporary folder, the server on a free port of 127.0.0.1, trust authentication for the
user `root`; run as the `postgres` user when the tests run as root (initdb refuses root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port
from tests.support.worker import BASE_DIR

BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def postgres_installed() -> bool:
    return (BIN / "initdb").exists() and (BIN / "postgres").exists()


class PostgresServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="postgres-"))
        self.data = self.dir / "data"
        self.process: subprocess.Popen | None = None
        self._as = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._as = ["runuser", "-u", pwd.getpwnam("postgres").pw_name, "--"]
        subprocess.run(
            [*self._as, str(BIN / "initdb"), "-D", str(self.data), "-U", "root",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def url(self, database: str = "app") -> str:
        return f"postgres://root@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        command = [
            *self._as, str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
        ]  # fmt: skip
        self.process = processes.spawn(command, log_path=self.dir / "server.log")
        wait_for(self.ready, timeout=30, interval=0.05, what="postgres accepting sessions")
        return self

    def ready(self) -> bool:
        """Accepting sessions, not only listening (while it starts up it refuses them)."""
        check = [str(BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)]
        return subprocess.run(check, check=False).returncode == 0

    def stop(self) -> None:
        """A fast shutdown (SIGINT, what `pg_ctl restart` does): sessions are cut at once."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            processes.stop(self.process, timeout=20)
        wait_for(lambda: not accepts(self.port), timeout=10, what="postgres to stop")

    def create_database(self, name: str = "app") -> str:
        """An empty database with the project's migrations applied; its URL."""
        subprocess.run(
            [*self._as, str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
             "-U", "root", name],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        env = {**os.environ, "DATABASE_URL": self.url(name)}
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        return self.url(name)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
