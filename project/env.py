"""Typed configuration read from the environment, validated once at start.

Every variable the project reads is declared here (and listed in `.env.example`). The defaults serve
the embedded run: SQLite and Celery's filesystem broker under `var/`; production differs only by
environment. A bad value raises `ConfigurationError` with one line naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the embedded run: SQLite, the filesystem broker, mail files, media. Git-ignored.
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()

# Only ever used when DJANGO_DEBUG is on; a non-debug process refuses to start with it.
DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"  # noqa: S105
# Values copied from .env.example or the docs: a process without debug refuses them as secrets.
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "password", "secret", DEV_SECRET_KEY})
# Django's own rule for a strong key (check --deploy, security.W009).
SECRET_KEY_MIN_LENGTH = 50


class ConfigurationError(Exception):
    """A configuration variable is missing or malformed."""


class CelerySettings(BaseSettings):
    """Celery configuration, as in the seed's `CelerySettings` (variables `CELERY_*`)."""

    model_config = SettingsConfigDict(env_prefix="CELERY_", extra="ignore")

    broker_url: str = Field(default="filesystem://localhost//", description="redis://host:6379/1")
    result_backend: str = Field(default="django-db", description="where task results go")
    task_default_queue: str = Field(default="default", min_length=1)
    task_default_retry_delay: int = Field(default=60, ge=0)
    task_max_retries: int = Field(default=3, ge=0)
    worker_concurrency: int = Field(default=4, ge=1)
    # Redis only: an unacknowledged message goes back to the queue after this many seconds.
    broker_visibility_timeout: int = Field(default=3600, ge=1)

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str) -> str:
        scheme = value.partition("://")[0]
        if scheme not in {"filesystem", "redis", "rediss", "amqp", "amqps", "pyamqp", "memory"}:
            raise ValueError("must be a filesystem://, redis://, rediss:// or amqp:// URL")
        return value


class EmailSettings(BaseSettings):
    """Django's `EMAIL_*` names. Without `EMAIL_HOST`, mail is written to files under var/mail/."""

    model_config = SettingsConfigDict(env_prefix="EMAIL_", extra="ignore")

    host: str = ""
    port: int = Field(default=25, ge=1, le=65535)
    host_user: str = ""
    host_password: SecretStr = SecretStr("")
    use_tls: bool = False
    use_ssl: bool = False
    timeout: float = Field(default=10.0, gt=0)
    file_path: Path = VAR_DIR / "mail"


class Env(BaseSettings):
    """Django-level settings (variables `DJANGO_*`, `DATABASE_URL`, ...)."""

    model_config = SettingsConfigDict(extra="ignore")

    django_secret_key: SecretStr | None = None
    # Off unless asked for: the debug page shows settings and source to anyone who causes a 500.
    django_debug: bool = False
    django_allowed_hosts: str = "localhost,127.0.0.1,[::1]"
    django_csrf_trusted_origins: str = ""
    # HTTPS (applied only with debug off; docs/security.md). TLS ends at a proxy in front.
    django_secure_ssl_redirect: bool = True
    django_secure_hsts_seconds: int = Field(default=31_536_000, ge=0)
    django_secure_hsts_include_subdomains: bool = True
    django_secure_hsts_preload: bool = False
    django_secure_cookies: bool = True
    # The header a TLS-terminating proxy sets, e.g. X-Forwarded-Proto; empty: trust none (a client
    # could send it). Only name one that the proxy always overwrites.
    django_secure_proxy_ssl_header: str = Field(default="", pattern=r"^([A-Za-z0-9-]+)?$")
    # /api/health/ shows each check's detail to staff and to callers sending this token.
    health_token: SecretStr = SecretStr("")
    # Swagger UI and the OpenAPI schema: staff only unless this is on.
    api_docs_public: bool = False
    # docker compose's Postgres password: refused, like the secret key, when it is a placeholder.
    postgres_password: SecretStr | None = None
    database_url: str = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    default_from_email: str = "webmaster@localhost"
    media_root: Path = VAR_DIR / "media"
    static_root: Path = VAR_DIR / "static"
    auth_session_ttl_hours: int = Field(default=24, ge=1)
    login_failures_rate: str = Field(default="10/min", pattern=r"^\d+/(s|sec|m|min|h|hour|d|day)$")
    trusted_proxies: int = Field(default=0, ge=0, description="reverse proxies in front of the app")
    cache_url: str = Field(default="", pattern=r"^(rediss?://.*)?$", description="redis://host/3")
    report_retention_days: int = Field(default=7, ge=1)
    # Report export (tasks_app.generate_user_report): the seed's 300 s hard limit, a soft one first.
    report_soft_time_limit: float = Field(default=270, gt=0)
    report_time_limit: float = Field(default=300, gt=0)
    report_progress_every: int = Field(default=5000, ge=100)
    report_tmp_dir: Path = VAR_DIR / "tmp" / "reports"
    beat_down_after_seconds: int = Field(default=60, ge=10)
    task_stalled_after_seconds: int = Field(default=3600, ge=1)
    celery: CelerySettings = Field(default_factory=CelerySettings)
    email: EmailSettings = Field(default_factory=EmailSettings)

    @field_validator("database_url")
    @classmethod
    def _parseable_database_url(cls, value: str) -> str:
        try:
            config = dj_database_url.parse(value)
        except (ValueError, KeyError):
            raise ValueError(
                "is not a database URL such as postgres://user:pass@host:5432/name or sqlite:///path"
            ) from None
        if not config.get("NAME"):
            raise ValueError("names no database")
        return value

    @model_validator(mode="after")
    def _secret_key_outside_debug(self) -> Env:
        if self.django_debug:
            return self
        key = self.django_secret_key.get_secret_value() if self.django_secret_key else ""
        if not key:
            raise ValueError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
        if key in PLACEHOLDER_SECRETS or key.startswith("django-insecure"):
            raise ValueError(
                "DJANGO_SECRET_KEY is a placeholder; generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
        if len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < 5:
            raise ValueError(
                f"DJANGO_SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} random characters "
                "when DJANGO_DEBUG is off"
            )
        return self

    @model_validator(mode="after")
    def _database_password_outside_debug(self) -> Env:
        if self.django_debug:
            return self
        url_password = dj_database_url.parse(self.database_url).get("PASSWORD") or ""
        env_password = self.postgres_password.get_secret_value() if self.postgres_password else ""
        if env_password in PLACEHOLDER_SECRETS:
            raise ValueError("POSTGRES_PASSWORD is a placeholder; set a real password")
        if url_password in PLACEHOLDER_SECRETS:
            raise ValueError("DATABASE_URL holds a placeholder password; set a real one")
        return self

    @model_validator(mode="after")
    def _report_soft_limit_first(self) -> Env:
        if self.report_soft_time_limit >= self.report_time_limit:
            raise ValueError("REPORT_SOFT_TIME_LIMIT must be lower than REPORT_TIME_LIMIT")
        return self

    @property
    def secret_key(self) -> str:
        """The configured key; the public development key only when debug is on and none is set
        (the validator refuses a missing key without debug)."""
        key = self.django_secret_key.get_secret_value() if self.django_secret_key else ""
        return key or DEV_SECRET_KEY

    @property
    def proxy_ssl_header(self) -> tuple[str, str] | None:
        """Django's SECURE_PROXY_SSL_HEADER: the WSGI name of the proxy's header, and "https"."""
        header = self.django_secure_proxy_ssl_header
        return ("HTTP_" + header.upper().replace("-", "_"), "https") if header else None

    @property
    def allowed_hosts(self) -> list[str]:
        return [host.strip() for host in self.django_allowed_hosts.split(",") if host.strip()]

    @property
    def csrf_trusted_origins(self) -> list[str]:
        return [o.strip() for o in self.django_csrf_trusted_origins.split(",") if o.strip()]

    def database(self) -> dict[str, Any]:
        config = dj_database_url.parse(self.database_url)
        if config["ENGINE"] == "django.db.backends.sqlite3":
            Path(config["NAME"]).parent.mkdir(parents=True, exist_ok=True)
            # WAL lets the web process read while a worker writes; IMMEDIATE transactions and a busy
            # timeout make concurrent writers queue instead of failing with "database is locked".
            config["OPTIONS"] = {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            }
            config["TEST"] = {"NAME": str(Path(config["NAME"]).with_name("test.sqlite3"))}
        return config


def variable_names() -> set[str]:
    """Every environment variable the settings read (the contract of .env.example and compose)."""
    names = {name.upper() for name in Env.model_fields if name not in {"celery", "email"}}
    names |= {f"CELERY_{name}".upper() for name in CelerySettings.model_fields}
    names |= {f"EMAIL_{name}".upper() for name in EmailSettings.model_fields}
    return names | {"VAR_DIR"}


def _error(exc: ValidationError, prefix: str) -> ConfigurationError:
    error = exc.errors()[0]
    name = prefix + "_".join(str(part) for part in error["loc"]).upper()
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a rule across variables names them in its message
        return ConfigurationError(message)
    if any(word in name for word in ("SECRET", "PASSWORD", "URL")):  # values that may hold secrets
        return ConfigurationError(f"{name}: {message}")
    return ConfigurationError(f"{name}: {message} (got {error.get('input')!r})")


def load_env() -> Env:
    """Read and validate the environment; raise `ConfigurationError` naming the bad variable."""
    try:
        celery = CelerySettings()
    except ValidationError as exc:
        raise _error(exc, "CELERY_") from None
    try:
        email = EmailSettings()
    except ValidationError as exc:
        raise _error(exc, "EMAIL_") from None
    try:
        return Env(celery=celery, email=email)
    except ValidationError as exc:
        raise _error(exc, "") from None
