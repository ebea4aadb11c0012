"""`GET /metrics`: the app's numbers in Prometheus' text format (tasks_app/metrics.py).

Never open: a caller sends `Authorization: Bearer <METRICS_TOKEN>` (Prometheus' `authorization`
with a credentials file) or is staff signed in to the admin. Without METRICS_TOKEN only staff get
it; everyone else gets a 403, so a deployment that forgot the token exposes nothing.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest

from tasks_app.metrics import TasksCollector

# Our metrics only: the process metrics of whichever web process answered would mislead.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(TasksCollector())


def may_scrape(request: HttpRequest) -> bool:
    """The configured METRICS_TOKEN as a bearer token, or a staff session."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token_matches = (
        bool(settings.METRICS_TOKEN)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())
    )
    return token_matches or request.user.is_staff


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not may_scrape(request):
        return HttpResponseForbidden("metrics need a bearer token (METRICS_TOKEN) or a staff login")
    # The classic text format (our names need no escaping), which every Prometheus 2 and 3 reads.
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_PLAIN_0_0_4)
