"""The schedules admin (django-celery-beat's PeriodicTask pages): links to runs, pages render.
"Run now" is in test_run_now.py."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

HISTORY = reverse("admin:django_celery_results_taskresult_changelist")


@pytest.mark.django_db
def test_schedule_list_links_to_its_run_history(client, super_admin):
    client.force_login(super_admin)

    page = client.get(reverse("admin:django_celery_beat_periodictask_changelist")).content.decode()

    assert f"{HISTORY}?periodic_task_name=cleanup-expired-sessions" in page


@pytest.mark.django_db
def test_change_and_add_pages_render(client, super_admin):
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    client.force_login(super_admin)

    for url in (
        reverse("admin:django_celery_beat_periodictask_change", args=[schedule.pk]),
        reverse("admin:django_celery_beat_periodictask_add"),
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "enabled", "message"),
    [
        ("disable_tasks", False, "1 schedule disabled; 1 already was."),
        ("enable_tasks", True, "1 schedule enabled; 1 already was."),
    ],
)
def test_enable_and_disable_actions_count_only_what_changed(
    client, super_admin, action, enabled, message
):
    first, second = PeriodicTask.objects.order_by("name")[:2]
    PeriodicTask.objects.filter(pk=first.pk).update(enabled=not enabled)
    PeriodicTask.objects.filter(pk=second.pk).update(enabled=enabled)
    client.force_login(super_admin)

    response = client.post(
        reverse("admin:django_celery_beat_periodictask_changelist"),
        {"action": action, "_selected_action": [first.pk, second.pk]},
    )

    assert [m.message for m in get_messages(response.wsgi_request)] == [message]
    assert set(
        PeriodicTask.objects.filter(pk__in=[first.pk, second.pk]).values_list("enabled", flat=True)
    ) == {enabled}


@pytest.mark.django_db
def test_change_page_selects_the_schedules_registered_task(client, super_admin):
    """django-celery-beat's form leaves "Task (registered)" blank on a change page and shows the
    name in "Task (custom)"; ours selects it among the registered tasks."""
    schedule = PeriodicTask.objects.get(name="cleanup-expired-sessions")
    client.force_login(super_admin)

    page = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[schedule.pk]))

    form = page.context["adminform"].form
    assert form["regtask"].value() == "tasks_app.cleanup_sessions"
    assert form["task"].value() == ""
    assert '<option value="tasks_app.cleanup_sessions" selected>' in page.content.decode()
