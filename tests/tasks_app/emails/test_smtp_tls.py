"""STARTTLS and login against aiosmtpd with a self-signed certificate that the sender trusts
explicitly (SSL_CERT_FILE), so the certificate and host name are really verified."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tasks_app.models import EmailLog
from tasks_app.services.emails.delivery import EmailFailed
from tasks_app.services.emails.queueing import email_queue, email_send_now
from tests.support.polling import wait_for
from tests.support.smtp import SmtpServer
from tests.support.worker import private_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def tls_smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(tls=True).start()
    yield server
    server.stop()


def test_a_worker_sends_over_starttls_with_login(tls_smtp, start_worker, settings):
    route = private_queue(settings, "emails", queue := "emails-tls")
    start_worker(queues=queue, **route, **tls_smtp.worker_env())

    log = email_queue(to="tls@example.com", subject="Secret", body_html="<p>over TLS</p>")

    wait_for(lambda: EmailLog.objects.filter(pk=log.pk, status="sent").exists(), what="TLS send")
    [received] = tls_smtp.handler.to("tls@example.com")
    assert received.tls and received.authenticated
    assert received.part("html").strip() == "<p>over TLS</p>"


def use_server(settings, server: SmtpServer, monkeypatch, **overrides: str) -> None:
    """Point this process's email settings at `server` (as its worker_env does for a worker)."""
    env = server.worker_env(**overrides)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = env["EMAIL_HOST"], int(env["EMAIL_PORT"])
    settings.EMAIL_USE_TLS = env.get("EMAIL_USE_TLS") == "true"
    settings.EMAIL_HOST_USER = env.get("EMAIL_HOST_USER", "")
    settings.EMAIL_HOST_PASSWORD = env.get("EMAIL_HOST_PASSWORD", "")
    if "SSL_CERT_FILE" in env:
        monkeypatch.setenv("SSL_CERT_FILE", env["SSL_CERT_FILE"])


def test_a_failed_login_is_permanent(tls_smtp, settings, monkeypatch):
    use_server(settings, tls_smtp, monkeypatch, EMAIL_HOST_PASSWORD="wrong")

    with pytest.raises(
        EmailFailed, match=r"permanent failure: SMTPAuthenticationError \(SMTP 535\)"
    ):
        email_send_now(to="tls@example.com", subject="x", body_html="<p>x</p>")

    assert EmailLog.objects.get().attempts == 1


def test_an_untrusted_certificate_is_permanent(tls_smtp, settings, monkeypatch):
    use_server(settings, tls_smtp, monkeypatch)
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's CAs do not know our certificate

    with pytest.raises(EmailFailed, match="permanent failure: SSLCertVerificationError"):
        email_send_now(to="tls@example.com", subject="x", body_html="<p>x</p>")


def test_send_test_email_command_reaches_the_server(smtp, settings, monkeypatch, capsys):
    from django.core.management import call_command

    use_server(settings, smtp, monkeypatch)

    call_command("send_test_email", "ops@example.com")

    assert f"Server: 127.0.0.1:{smtp.port} (TLS: none, login: no)" in capsys.readouterr().out
    [received] = smtp.handler.to("ops@example.com")
    assert received.message["Subject"] == "Test email"
