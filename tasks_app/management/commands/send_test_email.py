"""`manage.py send_test_email ADDRESS`: one email through the configured backend, right now."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tasks_app.ledger.trigger import QueuesTasksCommand
from tasks_app.services.emails.delivery import EmailDeliveryError
from tasks_app.services.emails.queueing import email_send_now


class Command(QueuesTasksCommand, BaseCommand):
    help = (
        "Send one test email to ADDRESS in this process (no worker, no retry) through the "
        "configured EMAIL_* settings, record it in the email log and print what happened."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("address", help="Where to send the test email.")

    def handle(self, *args, address: str, **options) -> None:
        self.stdout.write(f"Backend: {settings.EMAIL_BACKEND}")
        if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
            tls = (
                "STARTTLS"
                if settings.EMAIL_USE_TLS
                else "SSL"
                if settings.EMAIL_USE_SSL
                else "none"
            )
            login = "yes" if settings.EMAIL_HOST_USER else "no"
            self.stdout.write(
                f"Server: {settings.EMAIL_HOST}:{settings.EMAIL_PORT} (TLS: {tls}, login: {login})"
            )
        else:
            self.stdout.write(f"Folder: {settings.EMAIL_FILE_PATH}")
        try:
            result = email_send_now(
                to=address,
                subject="Test email",
                body_html="<p>This is a test email. If you can read it, email works.</p>",
                body_text="This is a test email. If you can read it, email works.",
            )
        except ValidationError as exc:
            raise CommandError(f"{address!r} is not an email address") from exc
        except EmailDeliveryError as exc:
            raise CommandError(
                f"Not sent: {exc} (see the email log for the server's answer)"
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"Sent: email {result.email_log_id} to {address}"))
