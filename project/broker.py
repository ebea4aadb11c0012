"""The embedded broker: kombu's filesystem transport, safe for several processes at once.

Two races of kombu's transport, both seen failing this project's test suite:

- A message file is created empty (`open("wb")`) and written after, and a consumer reads it without
  the writer's lock: a worker that lists the folder in between reads "" and dies with "Unrecoverable
  error: JSONDecodeError('Expecting value')" (https://github.com/celery/kombu/issues/1551). Here a
  message is written under a name no consumer matches and renamed into place, and a consumer claims
  it by renaming it (only one consumer wins) before it reads it.
- An exchange table (`control/<exchange>.exchange`, the queues bound to it) is created with
  `exists()` then `open("wb")`: two processes that bind at once (two pings, each binding its reply
  queue to `reply.celery.pidbox`) both truncate and write it, leaving `[[...]] [...]]`, and every
  ping and inspect fails until `var/` is removed (https://github.com/treeverse/dvc-task/issues/73).
  Here a table appears whole or not at all (written aside, then hard-linked into place), every
  change is a read-modify-write under the exclusive lock, and a table corrupted earlier is repaired.

Selected by `CELERY_BROKER_TRANSPORT` in project/settings.py; the URL stays `filesystem://`.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from time import monotonic

from celery.worker import state
from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

Table = list[filesystem.exchange_queue_t]


def _parse(raw: bytes, file: Path) -> Table:
    """The table in `raw`; of a corrupted one, what its first JSON value holds."""
    text = raw.decode()
    try:
        rows = json.loads(text)
    except ValueError:
        try:
            rows, _ = json.JSONDecoder().raw_decode(text.lstrip())
        except ValueError:
            rows = []
        if not isinstance(rows, list) or not all(
            isinstance(row, list) and len(row) == 3 for row in rows
        ):
            rows = []
        logger.warning("repaired a corrupted exchange table %s (%d bindings kept)", file, len(rows))
    return [filesystem.exchange_queue_t(*row) for row in rows]


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:
        """Add a message to `queue`, complete: consumers only look at names ending `.msg`."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        try:
            with open(path + ".part", "wb") as part:
                part.write(dumps(payload).encode())
            os.rename(path + ".part", path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {name!r} to directory") from exc

    def _get(self, queue):
        """Take the oldest message of `queue`; a message another consumer took first is skipped."""
        wanted = f"{queue}.msg"
        folder = self.data_folder_in
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            # Claimed by a rename in the same folder (atomic; the loser gets FileNotFoundError),
            # to a name that no consumer and no queue count matches.
            claimed = os.path.join(folder, f"{name}.{os.getpid()}.claimed")
            try:
                os.rename(os.path.join(folder, name), claimed)
            except OSError:
                continue
            try:
                with open(claimed, "rb") as message:
                    payload = message.read()
                if self.store_processed:
                    os.replace(claimed, os.path.join(self.processed_folder, name))
                else:
                    os.remove(claimed)
            except OSError as exc:
                raise ChannelError(f"Cannot read file {claimed!r} from queue.") from exc
            return loads(payload.decode())
        raise Empty()

    def get_table(self, exchange: str) -> Table:
        try:
            return super().get_table(exchange)
        except ValueError:  # a table corrupted by an earlier kombu: repair it under the lock
            return self._update_table(exchange, lambda table: table)

    def _queue_bind(self, exchange, routing_key, pattern, queue) -> None:
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        if not self._create_table(exchange, [binding]):
            self._update_table(
                exchange, lambda table: table if binding in table else [binding, *table]
            )

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs) -> None:
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda table: [row for row in table if row != binding])

    def _create_table(self, exchange: str, table: Table) -> bool:
        """Put a complete table in place if there is none yet; False if another process has one."""
        file = self._exchange_file(exchange)
        self.control_folder.mkdir(parents=True, exist_ok=True)
        fd, scratch = tempfile.mkstemp(prefix=f".{exchange}.", dir=self.control_folder)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(dumps(table).encode())
            os.link(scratch, file)  # atomic, and fails if the table exists
            return True
        except FileExistsError:
            return False
        finally:
            os.unlink(scratch)

    def _update_table(self, exchange: str, change: Callable[[Table], Table]) -> Table:
        """Read, change and rewrite a table under its exclusive lock; [] if there is none."""
        file = self._exchange_file(exchange)
        try:
            f_obj = file.open("rb+", buffering=0)
        except FileNotFoundError:
            return []
        with f_obj:
            filesystem.lock(f_obj, filesystem.LOCK_EX)
            try:
                raw = f_obj.read()
                table = _parse(raw, file)
                changed = change(table)
                content = dumps(changed).encode()
                if content != raw:
                    f_obj.seek(0)
                    f_obj.write(content)
                    f_obj.truncate()
                return changed
            finally:
                filesystem.unlock(f_obj)


DRAIN_WAIT = 0.25  # seconds between looks whether the worker should stop


class Transport(filesystem.Transport):
    Channel = Channel
    # kombu then keeps the URL whole, so the worker's banner and Flower show `filesystem://...`
    # rather than this class's dotted path (the filesystem transport reads no part of the URL).
    can_parse_url = True

    def as_uri(self, uri: str, include_password: bool = False, mask: str = "**") -> str:
        return uri

    def drain_events(self, connection, timeout: float | None = None):
        """Wait for `timeout` as kombu does, but end the wait early once this process is a worker
        told to stop: its loop on this transport (celery's synloop) waits 2 s at a time and
        looks whether to stop only in between, so Ctrl-C would take that long to be heard."""
        if timeout is None:
            return super().drain_events(connection)
        deadline = monotonic() + timeout
        while True:
            wait = min(deadline - monotonic(), DRAIN_WAIT)
            try:
                return super().drain_events(connection, timeout=max(wait, 0))
            except TimeoutError:
                if monotonic() >= deadline or _worker_stopping():
                    raise


def _worker_stopping() -> bool:
    """A warm or cold shutdown was asked of this process's worker (celery's own test)."""
    return any(
        flag is not None and flag is not False
        for flag in (state.should_stop, state.should_terminate)
    )
