from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    """Django's admin with the project's site (project.admin_site) as `admin.site`."""

    default_site = "project.admin_site.AdminSite"
