"""Fixtures for the email pipeline: an SMTP server and a worker that sends through it.

The worker listens on an email queue of its own (the route of the email tasks, in its environment
and in the test's settings), so the session's `celery_worker`, which writes mail to files, never
takes an email meant for the SMTP server.
"""

from __future__ import annotations

import asyncio
import email
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.policy import default as default_policy

import pytest

from tests.support.smtp import Handler, SmtpServer
from tests.support.worker import QUEUE_VARIABLES, CeleryWorker, private_queue


@dataclass
class RecordingHandler(Handler):
    """`Handler`, plus what the connection-reuse and retry tests look at: the connection (aiosmtpd
    session) each recipient's message came on, the Message-ID of every DATA (refused ones too),
    the connections that ended with QUIT. `refuseonce*@` gets 554 to its first DATA only;
    `drop*@` is accepted, then the server closes that connection (`drop421*@`: after saying
    "421", as Postfix does on its idle timeout)."""

    session_of: dict[str, object] = field(default_factory=dict)
    offered: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    quit_sessions: list[object] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # recipients after whose message it hung up

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.session_of[rcpt] = session
            self.offered[rcpt].append(message["Message-ID"])
            first = len(self.offered[rcpt]) == 1
        if rcpt.startswith("refuseonce") and first:
            return "554 5.7.1 Message rejected as spam"
        status = await super().handle_DATA(server, session, envelope)
        if rcpt.startswith("drop"):  # after the 250 has gone out
            asyncio.get_running_loop().call_later(0.2, self._drop, server, rcpt)
        return status

    async def handle_QUIT(self, server, session, envelope):
        with self.lock:
            self.quit_sessions.append(session)
        return "221 Bye"

    def _drop(self, server, rcpt: str) -> None:
        if rcpt.startswith("drop421"):
            server.transport.write(b"421 4.4.2 Error: timeout exceeded\r\n")
        server.transport.close()
        with self.lock:
            self.dropped.append(rcpt)

    def connections(self, *recipients: str) -> int:
        """How many connections carried the messages to `recipients`."""
        with self.lock:
            return len({id(self.session_of[rcpt]) for rcpt in recipients})


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.handler = server.controller.handler = RecordingHandler()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def email_worker_concurrency() -> int:
    """Pool processes of the module's email worker; a module overrides it to pin one process."""
    return 2


@pytest.fixture(scope="module")
def email_queue_name() -> str:
    return f"emails-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def email_worker(
    django_db_setup, django_db_blocker, smtp, email_queue_name, email_worker_concurrency
) -> Iterator[CeleryWorker]:
    """One worker for the module, sending through `smtp`, retrying after about a second."""
    with django_db_blocker.unblock():
        worker = CeleryWorker(
            concurrency=email_worker_concurrency,
            queues=email_queue_name,
            **smtp.worker_env(
                **{QUEUE_VARIABLES["emails"]: email_queue_name},
                CELERY_TASK_DEFAULT_RETRY_DELAY="1",
            ),
        ).start()
    yield worker
    worker.stop()


@pytest.fixture
def to_email_worker(settings, email_queue_name) -> str:
    """Email tasks enqueued by this test go to the email worker's queue."""
    private_queue(settings, "emails", email_queue_name)
    return email_queue_name
