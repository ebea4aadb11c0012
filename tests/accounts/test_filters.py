"""UserFilterSet: what each filter selects, how every entry point refuses bad input, and that the
list API and a report's CSV hold the same users for the same filters (on Postgres through COPY,
elsewhere through the portable export)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from accounts.models import Role, User
from accounts.selectors import user_list
from tasks_app.models import UserReport
from tasks_app.services.reports.export import report_generate
from tasks_app.services.reports.requests import report_create
from tests.factories import UserFactory
from tests.tasks_app.reports.conftest import read_report

USERS = "/api/users/"
BASE_TIME = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def scene(db) -> dict[str, User]:
    """Three users created a day apart, from 2025-01-01."""
    users = {
        "ada": UserFactory(username="ada", email="ada@example.org", role=Role.ADMIN),
        "bob": UserFactory(username="bob", email="bob@example.org", is_active=False),
        "cy": UserFactory(username="cy", email="cy@lovelace.example", role=Role.SUPER_ADMIN),
    }
    for day, user in enumerate(users.values()):
        User.objects.filter(pk=user.pk).update(created_at=BASE_TIME + timedelta(days=day))
    return users


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, ["cy", "bob", "ada"]),
        ({"role": "ADMIN"}, ["ada"]),
        ({"role": "super_admin"}, ["cy"]),
        ({"is_active": "false"}, ["bob"]),
        ({"is_active": False}, ["bob"]),
        ({"is_active": "1"}, ["cy", "ada"]),
        ({"created_after": "2025-01-02"}, ["cy", "bob"]),
        ({"created_before": "2025-01-02"}, ["ada"]),
        ({"created_after": "2025-01-02T00:00:00+01:00"}, ["cy", "bob"]),
        ({"created_after": "2025-01-02T08:00:00+16:00"}, ["cy", "bob"]),  # past Postgres's 15:59
        ({"search": "LOVELACE"}, ["cy"]),
        ({"search": "bob@"}, ["bob"]),
        ({"role": "", "is_active": None}, ["cy", "bob", "ada"]),
        ({"page": "2", "colour": "red"}, ["cy", "bob", "ada"]),
    ],
)
def test_each_filter_narrows_the_user_list_newest_first(scene, filters, expected):
    assert [user.username for user in user_list(filters=filters)] == expected


BAD_FILTERS = [
    ({"role": "KING"}, "role"),
    ({"is_active": "maybe"}, "is_active"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_before": "2025-02-30"}, "created_before"),
    ({"created_before": "9999-12-31T23:59:59-23:59"}, "created_before"),
    ({"search": "s" * 255}, "search"),
    ({"search": "nul\x00"}, "search"),
    ({"created_after": "2025-02-01", "created_before": "2025-01-01"}, "created_before"),
]


@pytest.mark.parametrize(("filters", "field"), BAD_FILTERS)
def test_a_bad_filter_is_a_validation_error_naming_it(db, filters, field):
    with pytest.raises(ValidationError) as error:
        list(user_list(filters=filters))
    assert set(error.value.message_dict) == {field}


@pytest.mark.parametrize(("filters", "field"), BAD_FILTERS)
def test_a_bad_filter_is_the_same_400_in_the_list_and_the_report_api(
    client_for, admin, filters, field
):
    client = client_for(admin)

    listing = client.get(USERS, filters)
    report = client.post("/api/reports/", {"filters": filters}, format="json")

    assert listing.status_code == report.status_code == 400
    assert listing.json() == report.json()
    assert listing.json()["message"] == "Invalid input."
    assert set(listing.json()["errors"]) == {field}
    assert UserReport.objects.count() == 0


@pytest.mark.parametrize(("filters", "field"), BAD_FILTERS)
def test_a_bad_filter_is_a_command_error_naming_it(db, filters, field):
    options = [item for key, value in filters.items() for item in (f"--{key}", value)]
    options = [
        option.replace("_", "-") if option.startswith("--") else option for option in options
    ]

    with pytest.raises(CommandError, match=f"^{field}: "):
        call_command("generate_user_report", *options)
    assert UserReport.objects.count() == 0


def test_unknown_keys_are_refused_by_the_list_and_by_a_report(client_for, admin):
    client = client_for(admin)

    listed = client.get(USERS, {"colour": "red"})
    assert listed.status_code == 400
    assert listed.json()["errors"]["colour"][0].startswith("Unknown query parameter; use one of:")
    response = client.post("/api/reports/", {"filters": {"colour": "red"}}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"]["colour"][0].startswith("Unknown filter; use one of: role")


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"is_active": "true", "role": "admin"},
        {"search": "lovelace"},
        {"created_after": "2025-01-02", "created_before": "2025-01-03"},
        {"is_active": "no", "search": "example.org"},
    ],
)
@pytest.mark.django_db(transaction=True)  # on Postgres the export reads on a connection of its own
def test_the_list_api_and_a_report_hold_the_same_users(client_for, admin, scene, filters):
    listed = client_for(admin).get(USERS, {**filters, "page_size": 100}).json()["results"]
    report = report_create(requested_by=admin, filters=filters)
    report_generate(report_id=report.pk)
    report.refresh_from_db()

    _header, rows = read_report(report)

    assert [row[0] for row in rows] == [user["id"] for user in reversed(listed)]  # oldest first
