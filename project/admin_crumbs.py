"""`{% admin_crumbs opts as crumbs %}`: the breadcrumbs of a model's admin pages
(project.admin_site.crumbs), for the templates in project/templates/admin/."""

from django import template

from project.admin_site import crumbs

register = template.Library()


@register.simple_tag
def admin_crumbs(opts):
    return crumbs(opts)
