"""A private RabbitMQ node (never the shared one): safe to stop and start in a fault test.

Its own node name, ports, data and cookie under a temporary folder, no plugins; it keeps its
durable queues and persistent messages across a restart, as a production node does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")  # not the /usr/sbin wrapper: it runs as root


def rabbitmq_installed() -> bool:
    return SERVER.exists()


class RabbitMQServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="rabbitmq-"))
        self.node = f"fault{self.port}@localhost"
        self.process: subprocess.Popen | None = None
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(self.dir),  # its Erlang cookie
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
        }

    def start(self) -> RabbitMQServer:
        self.process = processes.spawn([str(SERVER)], env=self._env(), log_path=self.dir / "out")
        wait_for(lambda: accepts(self.port), timeout=60, interval=0.1, what="rabbitmq-server")
        return self

    def stop(self) -> None:
        """SIGTERM, which the node takes as a clean stop (its queues and messages kept)."""
        if self.process:
            processes.stop(self.process, timeout=30)
        wait_for(lambda: not accepts(self.port), timeout=10, what="rabbitmq-server to stop")

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
