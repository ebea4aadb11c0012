"""Permissions that come with a role, for the admin and the API alike.

Django's model permissions are the one permission model: the admin checks them, and so does
every API view (`accounts.permissions.HasModelPermission`). Besides the permissions of a user's
groups, the role grants a fixed set (`ROLE_PERMISSIONS`), on purpose and written down in
docs/security.md: an ADMIN operates the background tasks, so it may see and re-time schedules,
read task history and request reports, in the admin and over the API. SUPER_ADMIN has every
permission (is_superuser); USER has none.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from accounts.models import Role

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.ADMIN: frozenset(
        {
            "django_celery_beat.view_periodictask",
            "django_celery_beat.change_periodictask",
            "django_celery_beat.view_intervalschedule",
            "django_celery_beat.view_crontabschedule",
            "django_celery_results.view_taskresult",
            "tasks_app.view_userreport",
            "tasks_app.add_userreport",
        }
    ),
}


class RoleModelBackend(ModelBackend):
    """Django's ModelBackend, plus the permissions of the user's role."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        permissions = super().get_all_permissions(user_obj, obj)
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return permissions
        return {*permissions, *ROLE_PERMISSIONS.get(user_obj.role, ())}
