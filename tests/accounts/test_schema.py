"""Schemathesis over /api/schema/: generated requests (valid and invalid) against the real app,
one operation at a time and, following the schema's links (project/schema_links.py), in sequences.

Checks: all of schemathesis's (`--checks all`) but one, explained at ALL_CHECKS.
Requests carry a real bearer token of a SUPER_ADMIN, so the admin-only operations are reached.
Bounded by `max_examples` (and steps per sequence) so that the whole run stays well under a minute.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import CHECKS, load_all_checks

from project.schema_links import LINKS
from tests.factories import SuperAdminFactory, UserFactory, open_session

load_all_checks()
# `--checks all`, less one, for a reason OpenAPI cannot fix: "schema-valid request rejected"
# (ST202). The API refuses, with a 400 naming the field, data no JSON schema can describe:
# Django's password validators (common, numeric, like the username), usernames of mixed scripts
# or made of look-alikes, a username or email already taken, created_before not later than
# created_after. Each such 400 is in the error shape, which the other checks verify.
ALL_CHECKS = [check for check in CHECKS.get_all() if check.__name__ != "positive_data_acceptance"]


# Loaded at collection: the schema view needs no database. (`schemathesis.pytest.from_fixture`
# would load it lazily, but schemathesis 4.32 reads a pytest attribute that pytest 9 removed.)
with override_settings(API_DOCS_PUBLIC=True):  # staff-only; no database here to log in with
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture
def direct_wsgi(db):
    """Requests go straight to the WSGI handler, whose request signals would close the test's
    database connection (and its transaction); Django's test client unhooks them the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def scene(db) -> dict:
    """A super admin with a token, and a plain user for the /users/{id}/ operations to hit."""
    root = SuperAdminFactory()
    _session, token = open_session(root)
    return {"root": root, "token": token, "target": UserFactory()}


@schema.parametrize()
@settings(
    # CI: 30 examples per operation, the same every run. A deeper search:
    # SCHEMATHESIS_MAX_EXAMPLES=500 SCHEMATHESIS_RANDOM=1 pytest tests/accounts/test_schema.py
    max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")),
    deadline=None,
    derandomize=not os.environ.get("SCHEMATHESIS_RANDOM"),
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, direct_wsgi, scene, task_queue):
    token = scene["token"]
    if case.operation.path == "/api/auth/logout/":
        token = open_session(scene["root"])[1]  # logging out must not end the shared session
    if "user_id" in (case.path_parameters or {}):
        try:
            uuid.UUID(str(case.path_parameters["user_id"]))
        except ValueError:
            pass  # malformed ids stay: they must get a JSON 404
        else:
            case.path_parameters["user_id"] = str(scene["target"].pk)  # reach the real row
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=ALL_CHECKS)


def test_every_request_body_is_closed_to_fields_the_api_refuses():
    """The API answers 400 to a field a body does not take (project.serializers); the schema
    says so, for client generators and for schemathesis's negative cases."""
    served = SchemaGenerator().get_schema(request=None, public=True)
    components = served["components"]["schemas"]
    bodies = {
        operation["operationId"]: media["schema"]["$ref"].rsplit("/", 1)[1]
        for path_item in served["paths"].values()
        for operation in path_item.values()
        for media in operation.get("requestBody", {}).get("content", {}).values()
    }
    assert {"auth_login_create", "users_create", "reports_create", "schedules_update"} <= set(
        bodies
    ), bodies
    open_bodies = {
        op: name
        for op, name in bodies.items()
        if components[name].get("additionalProperties") is not False
    }
    assert open_bodies == {}


def test_schema_links_operations_for_the_stateful_run():
    """The links come from a postprocessing hook; if they vanished, the stateful run would have
    only the links schemathesis infers by itself to follow."""
    served = SchemaGenerator().get_schema(request=None, public=True)
    responses = {
        (operation["operationId"], status): response
        for path_item in served["paths"].values()
        for operation in path_item.values()
        for status, response in operation["responses"].items()
    }
    linked = {
        source: set(response["links"])
        for source, response in responses.items()
        if "links" in response
    }
    assert linked == {source: set(links) for source, links in LINKS.items()}
    assert responses[("users_create", "201")]["links"]["GetUser"] == {
        "operationId": "users_retrieve",
        "parameters": {"user_id": "$response.body#/id"},
    }
    assert responses[("auth_login_create", "200")]["links"]["GetMe"] == {
        "operationId": "users_me_retrieve",
        "parameters": {"header.Authorization": "Bearer {$response.body#/token}"},
    }


class ApiWorkflow(schema.as_state_machine()):
    """Sequences along the links. Calls carry the run's token, except those the login link gave
    the token it returned: the logout that follows a login ends only that new session."""

    scene: dict

    def setup(self) -> None:
        """Every sequence starts from the same rows and login counts, so that hypothesis can
        replay (and shrink) a failing one: the run shares one test transaction and one cache."""
        self.savepoint = transaction.savepoint()
        cache.clear()
        self.login_headers: set[str] = set()

    def teardown(self) -> None:
        transaction.savepoint_rollback(self.savepoint)

    def after_call(self, response, case) -> None:
        super().after_call(response, case)
        if case.operation.path == "/api/auth/login/" and response.status_code == 200:
            self.login_headers.add(f"Bearer {response.json()['token']}")

    def get_call_kwargs(self, case) -> dict:
        """The run's token, but for a call the login link gave the token that login returned
        (any other Authorization in the case is generated, and would only get 401s)."""
        headers = {name.lower(): value for name, value in (case.headers or {}).items()}
        if headers.get("authorization") in self.login_headers:
            authorization = headers["authorization"]
        elif case.operation.path == "/api/auth/logout/":
            authorization = f"Bearer {open_session(self.scene['root'])[1]}"  # not the run's session
        else:
            authorization = f"Bearer {self.scene['token']}"
        return {"headers": {"Authorization": authorization}}

    def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
        """As the stateless test's `call_and_validate`: the checks know the header as the caller's
        own credentials (not generated ones), and the stateful checks see the whole sequence."""
        case.validate_response(
            response,
            checks=ALL_CHECKS,
            headers=kwargs["headers"],
            transport_kwargs=kwargs,
            recorder=self.recorder,
        )


def test_api_workflows_along_the_links_conform_to_the_schema(direct_wsgi, scene, task_queue):
    workflow = type("ApiWorkflowRun", (ApiWorkflow,), {"scene": scene})
    workflow.run(
        settings=settings(
            # CI: 40 sequences of at most 6 calls, the same every run; SCHEMATHESIS_MAX_EXAMPLES
            # and SCHEMATHESIS_RANDOM widen it as for the test above.
            max_examples=int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "40")),
            stateful_step_count=6,
            deadline=None,
            derandomize=not os.environ.get("SCHEMATHESIS_RANDOM"),
            phases=[Phase.generate],  # as schemathesis's own stateful runs: no replay, no shrink
            suppress_health_check=list(HealthCheck),
        )
    )
