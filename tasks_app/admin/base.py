"""The one read-only admin base of the task app."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext as _

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
    """Pages named as people say it: the list headed by its name on the admin index
    (project.admin_site), "Task history" rather than Django's "Select task result to view"; a
    row's pages titled with `item_name` ("Change schedule", not "Change periodic task") and
    `item_label`, which their breadcrumbs name it by too (project.admin_crumbs)."""

    item_name: str = ""  # one row, in page titles; empty: the model's verbose name

    def item_label(self, obj) -> str:
        """The row's heading on its page."""
        return str(obj)

    def changelist_view(self, request: HttpRequest, extra_context=None):
        title = index_name(self.model)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if self.item_name:  # Django's own choice of title, with our name
            if add:
                title = _("Add %s")
            elif self.has_change_permission(request, obj):
                title = _("Change %s")
            else:
                title = _("View %s")
            context["title"] = title % self.item_name
        if obj is not None:
            context["subtitle"] = self.item_label(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_deleted_objects(self, objs, request):
        """Django's list of what a delete takes, the rows themselves named as their pages are."""
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        entry = '{}: <a href="{}">{}</a>'  # Django's own (django.contrib.admin.utils)
        django_name = capfirst(self.opts.verbose_name)
        name = capfirst(self.item_name or self.opts.verbose_name)
        named = {}
        for obj in objs:
            url = reverse(
                f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_change",
                args=[quote(obj.pk)],
            )
            named[format_html(entry, django_name, url, obj)] = format_html(
                entry, name, url, self.item_label(obj)
            )
        return _renamed(to_delete, named), model_count, perms_needed, protected

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = getattr(response, "context_data", {}).get("object")  # rendered later: still editable
        if obj is not None:
            response.context_data["title"] = _("Change history: %s") % self.item_label(obj)
        return response

    def delete_view(self, request, object_id, extra_context=None):
        if self.item_name:
            extra_context = {"object_name": self.item_name, **(extra_context or {})}
        return super().delete_view(request, object_id, extra_context)


def _renamed(entries: list, names: dict[str, str]) -> list:
    """Django's nested list of deleted objects with the entries in `names` replaced."""
    return [_renamed(e, names) if isinstance(e, list) else names.get(e, e) for e in entries]
