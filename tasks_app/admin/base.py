"""The one read-only admin base of the task app."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from project.admin_site import index_name


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the pipeline only: people look, they do not add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class NamedListAdmin(admin.ModelAdmin):
    """A list headed by its name on the admin index (project.admin_site), "Task history" rather
    than Django's "Select task result to view": a library's model names itself otherwise."""

    def changelist_view(self, request: HttpRequest, extra_context=None):
        title = index_name(self.model)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})
