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


def _term_when_parent_dies() -> None:
    """Linux: the command gets SIGTERM if this process is killed (SIGKILL included), so it is
    never left running on its own. Runs between fork and exec: one system call."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python -m project.warm_stop COMMAND [ARG ...]")
    process = subprocess.Popen(  # noqa: S603 - the Procfile's own command line
        command,
        start_new_session=True,
        preexec_fn=_term_when_parent_dies if sys.platform == "linux" else None,
    )

    def forward(signum: int, frame: object) -> None:
        process.send_signal(signum)

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    return process.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
