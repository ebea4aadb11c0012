"""The permission matrix: every persona against every accounts endpoint.

Personas: outsider (anonymous), plain_user (USER), admin (ADMIN), super_admin (SUPER_ADMIN).
Each row is one operation; the expected status per persona is read across.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import Role, User
from tests.factories import PASSWORD, AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("outsider", "plain_user", "admin", "super_admin")


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    # Builds the path and the body from a fresh target row, so that rows never leak between cases.
    request: Callable[[], tuple[str, dict[str, Any] | None]]
    expected: dict[str, int]

    def __str__(self) -> str:
        return self.name


def _new_user_body(role: str) -> Callable[[], tuple[str, dict[str, Any]]]:
    def build() -> tuple[str, dict[str, Any]]:
        body = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}
        return "/api/users/", {**body, "role": role}

    return build


def _on(factory, body: dict[str, Any] | None = None):
    def build() -> tuple[str, dict[str, Any] | None]:
        return f"/api/users/{factory().pk}/", body

    return build


def _login() -> tuple[str, dict[str, Any]]:
    user = UserFactory()
    return "/api/auth/login/", {"username": user.username, "password": PASSWORD}


def expect(outsider: int, plain_user: int, admin: int, super_admin: int) -> dict[str, int]:
    return dict(zip(PERSONAS, (outsider, plain_user, admin, super_admin), strict=True))


OPERATIONS = [
    Operation("login", "post", _login, expect(200, 200, 200, 200)),
    Operation("logout", "post", lambda: ("/api/auth/logout/", None), expect(401, 204, 204, 204)),
    Operation("me", "get", lambda: ("/api/users/me/", None), expect(401, 200, 200, 200)),
    Operation("list users", "get", lambda: ("/api/users/", None), expect(401, 403, 200, 200)),
    Operation("create USER", "post", _new_user_body(Role.USER), expect(401, 403, 201, 201)),
    Operation("create ADMIN", "post", _new_user_body(Role.ADMIN), expect(401, 403, 403, 201)),
    Operation(
        "create SUPER_ADMIN", "post", _new_user_body(Role.SUPER_ADMIN), expect(401, 403, 403, 201)
    ),
    Operation("get a user", "get", _on(UserFactory), expect(401, 403, 200, 200)),
    Operation("get an admin", "get", _on(AdminFactory), expect(401, 403, 200, 200)),
    Operation(
        "patch a user",
        "patch",
        _on(UserFactory, {"email": "e@example.com"}),
        expect(401, 403, 200, 200),
    ),
    Operation(
        "deactivate a user",
        "patch",
        _on(UserFactory, {"is_active": False}),
        expect(401, 403, 200, 200),
    ),
    Operation(
        "promote a user to ADMIN",
        "patch",
        _on(UserFactory, {"role": Role.ADMIN}),
        expect(401, 403, 403, 200),
    ),
    Operation(
        "patch an admin",
        "patch",
        _on(AdminFactory, {"email": "e@example.com"}),
        expect(401, 403, 403, 200),
    ),
    Operation(
        "demote an admin",
        "patch",
        _on(AdminFactory, {"role": Role.USER}),
        expect(401, 403, 403, 200),
    ),
]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
def test_permission_matrix(persona_client, task_queue, operation: Operation, persona: str):
    client, _user = persona_client(persona)
    path, body = operation.request()
    response = getattr(client, operation.method)(path, body, format="json")
    assert response.status_code == operation.expected[persona], response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"message", "errors"}


@pytest.mark.parametrize("persona", ["plain_user", "admin", "super_admin"])
def test_anyone_authenticated_sees_only_themselves_at_me(persona_client, persona):
    client, user = persona_client(persona)
    assert client.get("/api/users/me/").json()["id"] == str(user.pk)


def test_a_refused_creation_leaves_no_user(persona_client, task_queue):
    client, _admin = persona_client("admin")
    path, body = _new_user_body(Role.ADMIN)()
    assert client.post(path, body, format="json").status_code == 403
    assert not User.objects.filter(username="newbie").exists()
    assert task_queue.published == []
