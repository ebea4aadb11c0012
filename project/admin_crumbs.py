"""`{% admin_crumbs opts as crumbs %}`: the breadcrumbs of a model's admin pages
(project.admin_site.crumbs), and `{% admin_item_label obj as label %}`: a row's crumb, for the
templates in project/templates/admin/."""

from django import template
from django.contrib import admin

from project.admin_site import crumbs

register = template.Library()


@register.simple_tag
def admin_crumbs(opts):
    return crumbs(opts)


@register.simple_tag
def admin_item_label(obj) -> str:
    """The row named as its admin heads its page (`NamedListAdmin.item_label`), else str(obj)."""
    item_label = getattr(admin.site.get_model_admin(type(obj)), "item_label", None)
    return item_label(obj) if item_label else str(obj)
