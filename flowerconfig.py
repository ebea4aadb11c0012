"""Flower's configuration, read by `celery -A project flower --conf=flowerconfig.py` (Procfile).

Flower shows every task's arguments and can revoke tasks and shut workers down, so it never
listens without a password: without FLOWER_BASIC_AUTH ("user:password", comma-separated for
several users) it refuses to start, with one clear line.
"""

import os
import sys

_pairs = [pair for pair in os.environ.get("FLOWER_BASIC_AUTH", "").split(",") if pair]
if not _pairs or not all(
    user and password for user, _, password in (p.partition(":") for p in _pairs)
):
    sys.exit(
        "configuration error: FLOWER_BASIC_AUTH must be set to user:password "
        "(Flower refuses to start without authentication)"
    )

basic_auth = _pairs
persistent = False  # no shelve file of task history: the ORM's TaskResult table is the history
