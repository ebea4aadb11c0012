"""A real SMTP server for the email tests: aiosmtpd on a free port, optionally with STARTTLS and a
login, answering by recipient (see `Handler`). It runs in a thread of the test process."""

from __future__ import annotations

import asyncio
import email
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.ports import free_port

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cret-for-tests"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool
    authenticated: bool

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]

    def part(self, subtype: str) -> str:
        return self.message.get_body((subtype,)).get_content()


@dataclass
class Handler:
    """Answers by recipient: `reject*@` gets 550 to RCPT, `bounce*@` 554 to DATA, `tempfail*@`
    451 to its first DATA, `alwaysfail*@` 451 to every DATA; everyone else 250."""

    received: list[Received] = field(default_factory=list)
    data_attempts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: float = 0.0  # seconds before answering DATA: a slow server keeps tasks waiting

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("reject"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        rcpt = envelope.rcpt_tos[0]
        with self.lock:
            self.data_attempts[rcpt] += 1
            attempt = self.data_attempts[rcpt]
        if rcpt.startswith("bounce"):
            return "554 5.7.1 Message rejected as spam"
        if rcpt.startswith("alwaysfail") or (rcpt.startswith("tempfail") and attempt == 1):
            return "451 4.3.0 Temporary local problem, try again later"
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message,
                    tls=session.ssl is not None,
                    authenticated=bool(session.authenticated),
                )
            )
        return "250 2.0.0 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if address in r.rcpt_tos]


class SmtpServer:
    """aiosmtpd on a free port; with `tls=True` it requires STARTTLS and a login."""

    def __init__(self, *, tls: bool = False) -> None:
        self.handler = Handler()
        self.port = free_port()
        self.tls = tls
        self.certdir: Path | None = None
        options: dict = {}
        if tls:
            self.certdir = Path(tempfile.mkdtemp(prefix="smtp-cert-"))
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "1",
                    "-keyout",
                    str(self.certdir / "key.pem"),
                    "-out",
                    str(self.cert_file),
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=DNS:localhost",
                ],
                check=True,
                capture_output=True,
            )
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert_file, self.certdir / "key.pem")
            options = {
                "tls_context": context,
                "require_starttls": True,
                "auth_required": True,
                "auth_require_tls": True,
                "authenticator": self._authenticate,
            }
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)

    @property
    def cert_file(self) -> Path:
        return self.certdir / "cert.pem"

    @staticmethod
    def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(),
            auth_data.password.decode(),
        ) == (SMTP_USER, SMTP_PASSWORD)
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        if self.certdir:
            shutil.rmtree(self.certdir, ignore_errors=True)

    def worker_env(self, **extra: str) -> dict[str, str]:
        """EMAIL_* variables (read by project/env.py) for a worker sending through this server."""
        env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(self.port), "EMAIL_TIMEOUT": "2"}
        if self.tls:  # verify the certificate for real: trust only ours, by host name
            env.update(
                EMAIL_HOST="localhost",
                EMAIL_USE_TLS="true",
                EMAIL_HOST_USER=SMTP_USER,
                EMAIL_HOST_PASSWORD=SMTP_PASSWORD,
                SSL_CERT_FILE=str(self.cert_file),
            )
        env.update(extra)
        return env
