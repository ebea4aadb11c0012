"""The admin site: users created through the service, role-driven flags, actions and sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from accounts.models import AuthSession, Role, User
from tasks_app.models import EmailLog, UserReport
from tests.factories import PASSWORD, AdminFactory, SuperAdminFactory, UserFactory, open_session

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:accounts_user_add")
CHANGELIST = reverse("admin:accounts_user_changelist")
SESSIONS = reverse("admin:accounts_authsession_changelist")


def browser(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def add_form(**overrides) -> dict[str, str]:
    return {
        "username": "grace",
        "email": "grace@example.com",
        "role": Role.USER,
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def change_form(user: User, **overrides) -> dict[str, str]:
    return {
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "is_active": "on" if user.is_active else "",
        **overrides,
    }


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_admin_add_form_goes_through_user_create(
    super_admin, task_queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = browser(super_admin).post(ADD_URL, add_form(role=Role.ADMIN))
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="grace")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, False)
    assert user.check_password(PASSWORD)
    welcome = EmailLog.objects.get(idempotency_key=f"welcome:{user.pk}")
    assert [(t.name, t.kwargs) for t in task_queue.published] == [
        ("tasks_app.send_email", {"email_log_id": welcome.pk})
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password1": "123", "password2": "123"}, "password1"),
        ({"password2": "different-" + PASSWORD}, "password2"),
        ({"email": "TAKEN@example.com"}, "email"),
        ({"username": "bad name!"}, "username"),
    ],
)
def test_admin_add_form_shows_the_services_validation_errors(
    super_admin, task_queue, overrides, field
):
    UserFactory(email="taken@example.com")
    response = browser(super_admin).post(ADD_URL, add_form(**overrides))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not User.objects.filter(username__in=["grace", "bad name!"]).exists()
    assert task_queue.published == []


def test_admin_cannot_grant_admin_in_the_admin_site(admin, task_queue):
    response = browser(admin).post(ADD_URL, add_form(role=Role.ADMIN))
    assert response.status_code == 200
    assert "role" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="grace").exists()


def test_role_change_in_the_admin_moves_the_flags(super_admin):
    user = UserFactory()
    url = reverse("admin:accounts_user_change", args=[user.pk])
    response = browser(super_admin).post(url, change_form(user, role=Role.SUPER_ADMIN))
    assert response.status_code == 302, response.context["adminform"].form.errors
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.SUPER_ADMIN, True, True)


def test_deactivating_in_the_change_form_ends_sessions(admin):
    user = UserFactory()
    open_session(user)
    url = reverse("admin:accounts_user_change", args=[user.pk])
    response = browser(admin).post(url, change_form(user, is_active=""))
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not AuthSession.objects.filter(user=user).exists()


def test_admin_cannot_change_admins_in_the_admin_site(admin):
    other = AdminFactory()
    url = reverse("admin:accounts_user_change", args=[other.pk])
    client = browser(admin)
    assert client.get(url).status_code == 200  # may look
    client.post(url, change_form(other, email="changed@example.com"))
    other.refresh_from_db()
    assert other.email != "changed@example.com"


def test_flags_are_read_only_in_the_change_form(super_admin):
    user = UserFactory()
    url = reverse("admin:accounts_user_change", args=[user.pk])
    form = browser(super_admin).get(url).context["adminform"].form
    assert "role" in form.fields
    assert "is_staff" not in form.fields and "is_superuser" not in form.fields


def test_user_changelist_is_a_constant_number_of_queries(
    super_admin, django_assert_max_num_queries
):
    UserFactory.create_batch(30)
    client = browser(super_admin)
    with django_assert_max_num_queries(12):
        response = client.get(CHANGELIST, {"q": "user", "role": "USER", "is_active": "true"})
    assert response.status_code == 200


def test_deactivate_action_reports_counts_and_ends_sessions(admin):
    users = UserFactory.create_batch(2)
    for user in users:
        open_session(user)
    other_admin = AdminFactory()
    selected = [u.pk for u in users] + [other_admin.pk, admin.pk]
    response = browser(admin).post(
        CHANGELIST, {"action": "deactivate", "_selected_action": selected}, follow=True
    )
    assert texts(response) == [
        "2 users deactivated.",
        "2 users skipped: already deactivated, yourself, or admins beyond your role.",
    ]
    assert not AuthSession.objects.filter(user__in=users).exists()
    assert User.objects.filter(pk__in=[other_admin.pk, admin.pk], is_active=True).count() == 2


def test_activate_action(super_admin):
    user = UserFactory(is_active=False)
    response = browser(super_admin).post(
        CHANGELIST, {"action": "activate", "_selected_action": [user.pk]}, follow=True
    )
    assert texts(response) == ["1 user activated."]
    user.refresh_from_db()
    assert user.is_active


def test_plain_users_cannot_use_the_admin():
    response = browser(UserFactory()).get(CHANGELIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


# --- the changelist's filters and the report action --------------------------------------------


def listed(response) -> set[str]:
    return {user.username for user in response.context["cl"].result_list}


def test_changelist_filters_and_searches_with_the_user_filterset(super_admin):
    UserFactory(username="ada-lovelace", role=Role.ADMIN)
    UserFactory(username="ada-inactive", is_active=False)
    UserFactory(username="bob")
    client = browser(super_admin)

    assert listed(client.get(CHANGELIST, {"q": "ada"})) == {"ada-lovelace", "ada-inactive"}
    assert listed(client.get(CHANGELIST, {"q": "ada", "is_active": "false"})) == {"ada-inactive"}
    assert listed(client.get(CHANGELIST, {"role": "ADMIN"})) == {"ada-lovelace"}
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert listed(client.get(CHANGELIST, {"created_after": tomorrow})) == set()
    page = client.get(CHANGELIST).content.decode()
    assert "?is_active=false" in page and "?role=SUPER_ADMIN" in page
    assert f"?created_after={timezone.localdate().isoformat()}" in page  # "Today"


@pytest.mark.parametrize(
    "params", [{"is_active": "maybe"}, {"role": "KING"}, {"created_after": "soon"}]
)
def test_changelist_shows_its_error_page_for_a_bad_filter(super_admin, params):
    response = browser(super_admin).get(CHANGELIST, params)
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


def run_report_action(client: Client, query: dict[str, str], user: User):
    return client.post(
        f"{CHANGELIST}?{urlencode(query)}",
        {"action": "generate_csv_report", "_selected_action": [str(user.pk)]},
        follow=True,
    )


def test_report_action_stores_the_changelists_filters_and_search_and_links_to_the_report(
    super_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = run_report_action(
            browser(super_admin),
            {"is_active": "false", "role": "admin", "q": "ada", "o": "2", "p": "1"},
            super_admin,
        )

    report = UserReport.objects.get()
    assert report.filters == {"is_active": False, "role": "ADMIN", "search": "ada"}
    assert report.requested_by == super_admin and report.task_id
    assert len(callbacks) == 1  # the publication, after commit
    assert reverse("admin:tasks_app_userreport_change", args=[report.pk]) in texts(response)[0]


def test_report_action_refuses_a_lookup_it_cannot_reproduce(super_admin):
    response = run_report_action(browser(super_admin), {"created_at__year": "2025"}, super_admin)

    [message] = texts(response)
    assert "Unknown filter" in message and "created_after" in message
    assert UserReport.objects.count() == 0


def test_report_action_is_offered_only_with_the_permission_to_create_reports(
    super_admin, monkeypatch
):
    monkeypatch.setattr("accounts.backends.ROLE_PERMISSIONS", {})  # ADMIN's grant taken away
    staff = AdminFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    client = browser(staff)

    assert "generate_csv_report" not in client.get(CHANGELIST).content.decode()
    run_report_action(client, {}, super_admin)
    assert UserReport.objects.count() == 0
    assert "generate_csv_report" in browser(super_admin).get(CHANGELIST).content.decode()


# --- sessions -----------------------------------------------------------------------------------


def test_session_list_shows_expiry_and_is_read_only(super_admin, django_assert_max_num_queries):
    for _ in range(10):
        open_session(UserFactory())
    open_session(UserFactory(), expires_in=timedelta(hours=-1))
    client = browser(super_admin)
    with django_assert_max_num_queries(10):
        response = client.get(SESSIONS)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 11
    assert client.get(SESSIONS, {"expired": "yes"}).context["cl"].result_count == 1
    assert client.get(reverse("admin:accounts_authsession_add")).status_code == 403
    assert b"token_hash" not in client.get(SESSIONS).content


def test_revoke_action_deletes_sessions(super_admin):
    session, _token = open_session(UserFactory())
    kept, _ = open_session(UserFactory())
    response = browser(super_admin).post(
        SESSIONS, {"action": "revoke", "_selected_action": [session.pk]}, follow=True
    )
    assert texts(response) == ["1 session revoked."]
    assert list(AuthSession.objects.all()) == [kept]


def test_admins_see_sessions_but_only_super_admins_revoke(admin):
    session, _ = open_session(UserFactory())
    client = browser(admin)
    assert client.get(SESSIONS).status_code == 200
    client.post(SESSIONS, {"action": "revoke", "_selected_action": [session.pk]})
    assert AuthSession.objects.filter(pk=session.pk).exists()


def test_super_admin_reaches_every_admin_page(super_admin):
    assert browser(SuperAdminFactory()).get(reverse("admin:index")).status_code == 200


def test_admin_pages_render(admin):
    user = UserFactory()
    open_session(user)
    client = browser(admin)
    assert client.get(ADD_URL).status_code == 200
    assert client.get(reverse("admin:accounts_user_change", args=[user.pk])).status_code == 200
    password_url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert client.get(password_url).status_code == 200
    session = AuthSession.objects.get(user=user)
    url = reverse("admin:accounts_authsession_change", args=[session.pk])
    assert client.get(url).status_code == 200


def test_admin_cannot_reset_an_admins_password(admin):
    other = AdminFactory()
    url = reverse("admin:auth_user_password_change", args=[other.pk])
    assert browser(admin).get(url).status_code == 403
