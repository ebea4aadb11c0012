"""The admin site, its index grouped by what people come to do rather than by the app a model
lives in: reports, schedules, task history, the email log and users. An app page
(/admin/<app_label>/) still lists its own models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.db.models.options import Options
from django.http import HttpRequest
from django.urls import reverse


@dataclass(frozen=True)
class Section:
    slug: str
    name: str
    description: str
    models: dict[str, str]  # "app_label.ModelName": the name the index shows, in this order


SECTIONS = (
    Section(
        "reports",
        "Reports",
        "CSV reports of users: filter the user list and run its action “Generate CSV report”,"
        " follow its progress, download the file.",
        {"tasks_app.UserReport": "Reports"},
    ),
    Section(
        "schedules",
        "Schedules",
        "What beat runs and when: change a schedule, pause it, or run it now.",
        {
            "django_celery_beat.PeriodicTask": "Schedules",
            "django_celery_beat.CrontabSchedule": "Crontabs",
            "django_celery_beat.IntervalSchedule": "Intervals",
            "django_celery_beat.ClockedSchedule": "One-off times",
            "django_celery_beat.SolarSchedule": "Solar events",
        },
    ),
    Section(
        "history",
        "Task history",
        "Every task from the moment it is queued: who asked for it, its attempts and result;"
        " retry what failed, cancel what has not started. The overview charts the last day"
        " and week.",
        {
            "django_celery_results.TaskResult": "Task history",
            "tasks_app.TaskOverview": "Overview",
            "django_celery_results.GroupResult": "Group results",
        },
    ),
    Section(
        "emails",
        "Email log",
        "Every email the tasks send, queued, sent or failed; a failed one can be sent again"
        " with the same Message-ID.",
        {"tasks_app.EmailLog": "Email log"},
    ),
    Section(
        "users",
        "Users",
        "Accounts, their roles and sessions; groups hold the admin permissions.",
        {"accounts.User": "Users", "accounts.AuthSession": "Sessions", "auth.Group": "Groups"},
    ),
)


def _section_of(opts: Options) -> tuple[Section | None, str]:
    """The section naming the model, and the name it gives it (else Django's own)."""
    label = f"{opts.app_label}.{opts.object_name}"
    for section in SECTIONS:
        if label in section.models:
            return section, section.models[label]
    return None, str(opts.verbose_name_plural).capitalize()


def index_name(model: type[Model]) -> str:
    """The name the index gives `model` (its list's heading too); else Django's own."""
    return _section_of(model._meta)[1]


def crumbs(opts: Options) -> list[tuple[str, str]]:
    """The breadcrumbs above a model's pages, up to its list, as (name, url): its section (the
    index's, at that section) then its list, named as the index names them; one crumb where the
    section is named after the list. A model no section names keeps Django's app and list."""
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    section, name = _section_of(opts)
    if section is None:
        app = reverse("admin:app_list", kwargs={"app_label": opts.app_label})
        return [(str(opts.app_config.verbose_name), app), (name, changelist)]
    if name == section.name:
        return [(section.name, changelist)]
    return [(section.name, f"{reverse('admin:index')}#{section.slug}"), (name, changelist)]


def _grouped(apps: list[dict[str, Any]], request: HttpRequest) -> list[dict[str, Any]]:
    """The sections the user may see, then any app whose models no section names."""
    by_label = {f"{app['app_label']}.{m['object_name']}": m for app in apps for m in app["models"]}
    visible = set(by_label)
    sections = []
    for section in SECTIONS:
        models = [
            {**by_label.pop(label), "name": name}
            for label, name in section.models.items()
            if label in by_label
        ]
        if models:
            sections.append(
                {
                    "name": section.name,
                    "app_label": section.slug,
                    "app_url": models[0]["admin_url"],
                    "has_module_perms": True,
                    "description": section.description,
                    "models": models,
                    "links": _links(section, request, visible),
                }
            )
    rest = []
    for app in apps:
        models = [m for m in app["models"] if f"{app['app_label']}.{m['object_name']}" in by_label]
        if models:
            rest.append({**app, "models": models})
    return sections + rest


def _links(section: Section, request: HttpRequest, visible: set[str]) -> list[dict[str, str]]:
    """A section's way to start its work where that begins on another page: a report, from the
    user list, for whoever may run its report action (accounts.admin.users)."""
    if (
        section.slug == "reports"
        and "accounts.User" in visible
        and request.user.has_perm("tasks_app.add_userreport")
    ):
        url = reverse("admin:accounts_user_changelist")
        return [{"name": "New report: choose users", "url": url}]
    return []


class AdminSite(admin.AdminSite):
    site_header = "Background tasks administration"
    site_title = "Background tasks"
    index_title = "What would you like to do?"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        return apps if app_label else _grouped(apps, request)
