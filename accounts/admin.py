"""Minimal user admin of the reports branch, only so that the report action has a changelist.

At merge, keep the accounts helper's UserAdmin and add `generate_csv_report` to its `actions`.
"""

from __future__ import annotations

from django.contrib import admin

from accounts.models import User
from tasks_app.admin.reports import generate_csv_report


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["username", "email", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active", "created_at"]
    search_fields = ["username", "email"]
    actions = [generate_csv_report]
