"""Users and their expiring API sessions (the seed's `users` and `sessions` tables)."""

from __future__ import annotations

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class Role(models.TextChoices):
    USER = "USER", "User"
    ADMIN = "ADMIN", "Admin"
    SUPER_ADMIN = "SUPER_ADMIN", "Super admin"


class UserManager(BaseUserManager["User"]):
    """Low-level row creation; application code creates users through `accounts.services`."""

    use_in_migrations = True

    def create_user(self, username: str, email: str, password: str | None = None, **extra) -> User:
        # The flags follow the role (see User.is_staff); callers such as createsuperuser pass them.
        extra.pop("is_staff", None)
        extra.pop("is_superuser", None)
        user = self.model(username=username, email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(
        self, username: str, email: str, password: str | None = None, **extra
    ) -> User:
        return self.create_user(username, email, password, **{**extra, "role": Role.SUPER_ADMIN})

    def get_by_natural_key(self, username: str) -> User:  # exact: the login name as typed
        return self.get(username=username)


class User(AbstractBaseUser, PermissionsMixin):
    """An account. The role decides the admin flags, so they can never disagree with it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator()],
        help_text=(
            "150 characters or fewer: letters (of one script), digits and @/./+/-/_ only; "
            "unique without regard to case."
        ),
        error_messages={"unique": "A user with that username already exists."},
    )
    email = models.EmailField(help_text="Unique, compared without regard to case.")
    role = models.CharField(
        max_length=16,
        choices=Role.choices,
        default=Role.USER,
        db_index=True,
        help_text="Admins can use the admin site; super admins have every permission.",
    )
    is_active = models.BooleanField(
        default=True, help_text="Inactive users cannot log in and receive no email."
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    # Computed by the database from the role: no code path can set them apart from it.
    is_staff = models.GeneratedField(
        expression=models.Q(role__in=[Role.ADMIN, Role.SUPER_ADMIN]),
        output_field=models.BooleanField(),
        db_persist=True,
    )
    is_superuser = models.GeneratedField(
        expression=models.Q(role=Role.SUPER_ADMIN),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # "Sa" next to "sa" would be two accounts people cannot tell apart.
            models.UniqueConstraint(
                Lower("username"),
                name="accounts_user_username_ci_unique",
                violation_error_message="A user with that username already exists.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="A user with that email already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.username


class AuthSession(models.Model):
    """One API login. Only a hash of its bearer token is stored; the token is shown once.

    Nothing refers to this table and no signal listens on it, so the cleanup can delete expired
    rows in plain batches without Django loading them first.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_sessions")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=256, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"session {self.pk} of {self.user_id}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at <= (now or timezone.now())
