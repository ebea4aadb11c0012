"""Django's Postgres backend, where a statement can be sent with the transaction's COMMIT.

The task ledger writes each queued task's record in the caller's transaction
(tasks_app.ledger.enqueue). Sent on its own, that INSERT costs the caller a round trip to the
server; queued with `execute_with_commit`, it goes with the COMMIT, as one query. Its place among
the transaction's statements is kept: the next statement the connection runs (a savepoint's too)
sends it first, and a rollback drops it. Statements run on the bare psycopg connection
(`connection.connection`) do not send it first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction
from psycopg import ClientCursor


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._with_commit: list[tuple[str, Sequence[Any]]] = []
        self.execute_wrappers.append(self._send_queued_first)

    def execute_with_commit(self, sql: str, params: Sequence[Any]) -> None:
        """Run `sql` in this transaction: with its COMMIT, or before its next statement."""
        if not self.in_atomic_block:
            with self.cursor() as cursor:
                cursor.execute(sql, params)
            return
        self._with_commit.append((sql, params))

    def _send_queued_first(self, execute, sql, params, many, context):
        if self._with_commit:
            queued, self._with_commit = self._with_commit, []
            for queued_sql, queued_params in queued:
                context["cursor"].execute(queued_sql, queued_params)
        return execute(sql, params, many, context)

    def _commit(self):
        queued, self._with_commit = self._with_commit, []
        if not queued or self.connection is None:
            return super()._commit()
        # One simple query (client-side binding allows several statements); psycopg then sees
        # the transaction ended and its own commit() sends nothing.
        sql = ";\n".join([statement for statement, _ in queued] + ["COMMIT"])
        params = [param for _, statement_params in queued for param in statement_params]
        with debug_transaction(self, sql), self.wrap_database_errors:
            with ClientCursor(self.connection) as cursor:
                cursor.execute(sql, params)
            return self.connection.commit()

    def _rollback(self):
        self._with_commit = []
        return super()._rollback()

    def _close(self):
        self._with_commit = []
        return super()._close()
