"""Run a command in a process group of its own, passing SIGINT and SIGTERM to it alone.

`make run` starts its processes with honcho, which stops each by sending SIGTERM to its whole
process group. A Celery worker's pool processes share its group: killed beside the main process,
one may die holding the pool's lock, and the main process then waits for it until honcho kills
them all. Started through this (the Procfile's `worker` line), the worker's main process alone
gets the signal and makes a warm shutdown: it lets running tasks finish and stops its pool.

    python -m project.warm_stop celery -A project worker
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _term_when_parent_dies() -> None:
    """Runs in the child between fork and exec: one system call."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


# `Popen(preexec_fn=TERM_WHEN_PARENT_DIES)`: on Linux the child gets SIGTERM when the process that
# started it dies, SIGKILL included, so it never runs on alone (None elsewhere).
TERM_WHEN_PARENT_DIES = _term_when_parent_dies if _libc else None


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python -m project.warm_stop COMMAND [ARG ...]")
    process = subprocess.Popen(  # noqa: S603 - the Procfile's own command line
        command,
        start_new_session=True,
        preexec_fn=TERM_WHEN_PARENT_DIES,
    )

    def forward(signum: int, frame: object) -> None:
        process.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
