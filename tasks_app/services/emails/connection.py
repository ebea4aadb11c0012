"""One mail connection per process, reused by every send.

Opening SMTP costs a TCP handshake, EHLO and, in production, STARTTLS and AUTH: more round trips
than the message itself. So a worker process opens the connection on its first email and keeps it;
the task module closes it when the pool process exits (celery's `worker_process_shutdown`).
"""

from __future__ import annotations

import logging
import os
import smtplib
import threading

from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.signals import setting_changed
from django.dispatch import receiver

logger = logging.getLogger(__name__)

_lock = threading.RLock()  # a threads pool shares the process's connection: one send at a time
_current: tuple[int, BaseEmailBackend] | None = None  # (pid that opened it, the connection)


def mail_send(message: EmailMessage) -> None:
    """Send `message` through this process's connection, opening it on first use.

    A reused connection the server has dropped (idle timeout, restart) is reopened once and the
    message sent on the new one; the caller sees one attempt. The server may just hang up
    (`SMTPServerDisconnected`) or first say so with a 421, as Postfix does on its idle timeout
    (smtplib then raises the 421 as the answer to MAIL FROM). Any other failure closes the
    connection, whose state is then unknown (a time limit may have stopped it mid-command), and
    is raised: the next message opens a fresh one.
    """
    with _lock:
        connection, reused = _connection()
        try:
            try:
                connection.send_messages([message])
            except smtplib.SMTPException as exc:
                if not (reused and _dropped(exc)):
                    raise
                logger.info("the mail server dropped the reused connection; reconnecting once")
                mail_connection_close()
                connection, _ = _connection()
                connection.send_messages([message])
        except BaseException:
            mail_connection_close()
            raise


def mail_connection_close() -> None:
    """QUIT and forget this process's connection; a failing QUIT changes nothing that was sent."""
    global _current
    with _lock:
        if _current is None:
            return
        pid, connection = _current
        _current = None
        if pid != os.getpid():
            return  # inherited through fork: the socket is the parent's, not ours to QUIT
        try:
            connection.close()
        except Exception:
            logger.debug("closing the mail connection failed", exc_info=True)


def _dropped(exc: smtplib.SMTPException) -> bool:
    """The server closed the connection: hung up, or answered 421 ("closing channel")."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421


def _connection() -> tuple[BaseEmailBackend, bool]:
    """This process's connection and whether it was open already. Opened here rather than by
    `send_messages`, which closes a connection it opened itself after each batch."""
    global _current
    if _current is not None and _current[0] == os.getpid():
        return _current[1], True
    _current = None  # a parent's connection copied by fork is left to the parent
    connection = get_connection(fail_silently=False)
    connection.open()
    _current = (os.getpid(), connection)
    return connection, False


@receiver(setting_changed)
def _forget_on_email_settings_change(*, setting: str, **kwargs) -> None:
    """Tests switch backends and servers with `override_settings`: don't reuse a stale one."""
    if setting.startswith("EMAIL_"):
        mail_connection_close()
