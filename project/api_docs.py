"""`/api/schema/` and `/api/docs/` (Swagger UI): for staff unless API_DOCS_PUBLIC is on.

The schema maps every endpoint and its inputs, which helps an attacker more than a user; staff
read it signed in to the admin (session) or with a bearer token. Swagger UI's assets come from
drf-spectacular-sidecar (this origin, pinned) and its start-up script from a URL of its own
(SpectacularSwaggerSplitView), so the Content-Security-Policy needs no inline script.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.permissions import BasePermission


class DocsPermission(BasePermission):
    """Read per request, so that the setting can change without re-importing the views."""

    def has_permission(self, request, view) -> bool:
        return settings.API_DOCS_PUBLIC or bool(request.user and request.user.is_staff)
