"""Admin for users and their API sessions, by concern: forms, filters, users, sessions."""

from accounts.admin import sessions, users

__all__ = ["sessions", "users"]
