"""OpenAPI links between the API's operations (a drf-spectacular postprocessing hook).

drf-spectacular has no way to declare links, so they are added to the finished schema here.
They document how one response feeds the next request, and they are what schemathesis's
stateful run follows (tests/accounts/test_schema.py) to reach real rows instead of random ids.
"""

from __future__ import annotations

from typing import Any

BEARER_FROM_LOGIN = {"header.Authorization": "Bearer {$response.body#/token}"}

# (operationId, status) -> {link name: (target operationId, parameters, request body or None)}
LINKS: dict[tuple[str, str], dict[str, tuple[str, dict[str, str], dict[str, str] | None]]] = {
    ("users_create", "201"): {
        "GetUser": ("users_retrieve", {"user_id": "$response.body#/id"}, None),
        "UpdateUser": ("users_partial_update", {"user_id": "$response.body#/id"}, None),
        "LogInAsUser": (
            "auth_login_create",
            {},
            {"username": "$request.body#/username", "password": "$request.body#/password"},
        ),
    },
    ("users_retrieve", "200"): {
        "UpdateUser": ("users_partial_update", {"user_id": "$response.body#/id"}, None),
    },
    ("auth_login_create", "200"): {
        "GetMe": ("users_me_retrieve", BEARER_FROM_LOGIN, None),
        "LogOut": ("auth_logout_create", BEARER_FROM_LOGIN, None),
    },
    ("reports_create", "202"): {
        "GetReport": ("reports_retrieve", {"report_id": "$response.body#/id"}, None),
        "DownloadReport": ("reports_download_retrieve", {"report_id": "$response.body#/id"}, None),
    },
    # A link's runtime expression is a JSON pointer: it can name the list's first item, not each.
    ("schedules_list", "200"): {
        "GetFirstSchedule": ("schedules_retrieve", {"schedule_id": "$response.body#/0/id"}, None),
    },
    ("schedules_retrieve", "200"): {
        "UpdateSchedule": ("schedules_update", {"schedule_id": "$response.body#/id"}, None),
        "RunSchedule": ("schedules_run", {"schedule_id": "$response.body#/id"}, None),
    },
    ("schedules_run", "202"): {
        "GetTask": ("tasks_retrieve", {"task_id": "$response.body#/task_id"}, None),
    },
}


def add_links(result: dict[str, Any], generator, request, public) -> dict[str, Any]:
    """Attach LINKS to the responses they start from; a missing operation or status is an error,
    so that a renamed view cannot drop its links silently."""
    responses = {
        (operation["operationId"], status): response
        for path_item in result.get("paths", {}).values()
        for operation in path_item.values()
        for status, response in operation.get("responses", {}).items()
    }
    operation_ids = {operation_id for operation_id, _status in responses}
    for source, links in LINKS.items():
        if source not in responses:
            raise KeyError(f"OpenAPI link source {source} is not in the schema")
        for name, (target, parameters, body) in links.items():
            if target not in operation_ids:
                raise KeyError(f"OpenAPI link {name} targets unknown operation {target}")
            link: dict[str, Any] = {"operationId": target}
            if parameters:
                link["parameters"] = parameters
            if body is not None:
                link["requestBody"] = body
            responses[source].setdefault("links", {})[name] = link
    return result
