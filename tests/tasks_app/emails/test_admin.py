"""The email log in the admin: listed with filters, searchable, read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tasks_app.models import EmailLog

pytestmark = pytest.mark.django_db


def test_email_log_list_filters_searches_and_is_read_only(
    admin_client, django_assert_max_num_queries
):
    sent = EmailLog.objects.create(recipient="ada@example.com", subject="Hi", status="sent")
    EmailLog.objects.create(recipient="bob@example.com", subject="Yo", status="failed")
    url = reverse("admin:tasks_app_emaillog_changelist")

    with django_assert_max_num_queries(10):
        page = admin_client.get(url, {"status__exact": "sent", "q": "ada"})

    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [sent]
    assert admin_client.get(reverse("admin:tasks_app_emaillog_add")).status_code == 403
    detail = admin_client.get(reverse("admin:tasks_app_emaillog_change", args=[sent.pk]))
    assert detail.status_code == 200 and b'name="recipient"' not in detail.content
    assert admin_client.get(url, {"created_at__year": sent.created_at.year}).status_code == 200


def test_a_user_without_admin_rights_cannot_see_the_email_log(client, django_user_model):
    user = django_user_model.objects.create_user("plain", "plain@example.com", "x" * 12)
    client.force_login(user)

    page = client.get(reverse("admin:tasks_app_emaillog_changelist"))

    assert page.status_code == 302 and "/login/" in page["Location"]
