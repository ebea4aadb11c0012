"""API permissions: one class per rule. Besides the role checks, the API asks for the same
Django model permissions as the admin (`HasModelPermission`), which roles grant through
`accounts.backends.ROLE_PERMISSIONS`."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import Role


class IsAdmin(BasePermission):
    """Role ADMIN or SUPER_ADMIN (the same users as `is_staff`, which the role decides)."""

    message = "Only admins can do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role in (Role.ADMIN, Role.SUPER_ADMIN))


class HasModelPermission(BasePermission):
    """Staff with the Django permission `permission` ("app_label.codename"), as the admin site
    requires for the same model. Subclasses name one rule each."""

    permission: str
    message = "You do not have permission to do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_staff and user.has_perm(self.permission)
        )
