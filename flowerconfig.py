"""Flower's configuration, read by `celery -A project flower --conf=flowerconfig.py` (Procfile).

Flower shows every task's arguments and can run tasks, revoke them and shut workers down, so it
never listens without a real password: without FLOWER_BASIC_AUTH ("user:password",
comma-separated for several users), with a placeholder or with a password under 12 characters it
refuses to start, with one clear line. It listens on 127.0.0.1 unless FLOWER_ADDRESS says
otherwise (compose listens on the container's interface and publishes the port on 127.0.0.1);
anything beyond this machine reaches it through a TLS proxy (docs/operations.md).
"""

import os
import sys

PLACEHOLDERS = {"change-me", "changeme", "password", "secret", "admin"}
MIN_PASSWORD_LENGTH = 12


def _refuse(reason: str) -> None:
    sys.exit(f"configuration error: FLOWER_BASIC_AUTH {reason}")


_pairs = [pair for pair in os.environ.get("FLOWER_BASIC_AUTH", "").split(",") if pair]
if not _pairs:
    _refuse("must be set to user:password (Flower refuses to start without authentication)")
for _user, _, _password in (pair.partition(":") for pair in _pairs):
    if not (_user and _password):
        _refuse("must be set to user:password (Flower refuses to start without authentication)")
    if _password.lower() in PLACEHOLDERS:
        _refuse(f"holds a placeholder password for {_user!r}; set a real one")
    if len(_password) < MIN_PASSWORD_LENGTH:
        _refuse(f"password for {_user!r} is shorter than {MIN_PASSWORD_LENGTH} characters")

basic_auth = _pairs
address = os.environ.get("FLOWER_ADDRESS") or "127.0.0.1"
persistent = False  # no shelve file of task history: the ORM's TaskResult table is the history
