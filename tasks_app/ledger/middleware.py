"""Tasks queued while a request is served name the request's user: the admin's or the API's."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tasks_app.ledger.trigger import task_trigger
from tasks_app.models.ledger import Trigger


class TaskTriggerMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        kind = Trigger.ADMIN if request.path.startswith(reverse("admin:index")) else Trigger.API
        # The user is read when a task is queued: the API authenticates inside the view (DRF
        # then sets the user on this request too).
        with task_trigger(
            kind,
            label=f"{request.method} {request.path}",
            user_getter=lambda: _user_pk(request),
        ):
            return self.get_response(request)


def _user_pk(request: HttpRequest) -> object:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None
