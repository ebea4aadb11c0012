"""Without EMAIL_HOST (the embedded default) a real worker writes mail to files under var/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks_app.models import EmailLog
from tasks_app.services.emails import email_queue
from tests.support.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_without_email_host_the_worker_writes_mail_to_files(celery_worker, settings):
    # The session worker runs with the embedded default: no EMAIL_HOST, file backend under var/.
    log = email_queue(to="files@example.com", subject="On disk", body_html="<p>hello</p>")

    wait_for(lambda: EmailLog.objects.filter(pk=log.pk, status="sent").exists(), what="the send")
    folder = Path(settings.EMAIL_FILE_PATH)
    [path] = [p for p in folder.glob("*.log") if log.message_id in p.read_text(errors="replace")]
    assert "Subject: On disk" in path.read_text() and "<p>hello</p>" in path.read_text()
