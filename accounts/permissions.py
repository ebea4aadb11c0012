"""API permissions by role."""

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
