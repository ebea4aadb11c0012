"""Typed configuration read from the environment, validated once at start.

Every variable the project reads is declared here (and listed in `.env.example`). The defaults serve
the embedded run: SQLite and Celery's filesystem broker under `var/`; production differs only by
environment. A bad value raises `ConfigurationError` with one line naming the variable.
"""

from __future__ import annotations

import datetime
import os
import re
import warnings
from pathlib import Path
from typing import Any, Literal

import dj_database_url
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from project.visibility import visibility_timeout_problem

BASE_DIR = Path(__file__).resolve().parent.parent
# Local state of the embedded run: SQLite, the filesystem broker, mail files, media. Git-ignored.
VAR_DIR = Path(os.environ.get("VAR_DIR") or BASE_DIR / "var").resolve()

# Only ever used when DJANGO_DEBUG is on; a non-debug process refuses to start with it.
DEV_SECRET_KEY = "django-insecure-dev-only-key-do-not-use-in-production"  # noqa: S105
# Values copied from .env.example or the docs: a process without debug refuses them as secrets.
PLACEHOLDER_SECRETS = frozenset({"change-me", "changeme", "password", "secret", DEV_SECRET_KEY})
# Django's own rule for a strong key (check --deploy, security.W009).
SECRET_KEY_MIN_LENGTH = 50
# Task history (TASK_HISTORY_RETENTION): how long finished tasks are kept unless overridden, and the
# shortest period accepted, so the overview's windows (24 hours and 7 days) always hold every row.
TASK_HISTORY_RETENTION_DEFAULTS = {
    "success": datetime.timedelta(days=7),
    "failure": datetime.timedelta(days=30),
}
TASK_HISTORY_MIN_RETENTION = datetime.timedelta(days=7)
_RETENTION_ITEM = re.compile(r"^(?P<key>[A-Za-z_][\w.]*)=(?P<amount>\d+)(?P<unit>[hd])$")


class ConfigurationError(Exception):
    """A configuration variable is missing or malformed."""


class ConfigurationWarning(UserWarning):
    """A value production would refuse, accepted because DJANGO_DEBUG is on."""


class CelerySettings(BaseSettings):
    """Celery configuration, as in the seed's `CelerySettings` (variables `CELERY_*`)."""

    model_config = SettingsConfigDict(env_prefix="CELERY_", extra="ignore")

    broker_url: str = Field(default="filesystem://localhost//", description="redis://host:6379/1")
    result_backend: str = Field(default="django-db", description="where task results go")
    task_default_queue: str = Field(default="default", min_length=1)
    # Queues of the routed work (project/settings.py TASK_ROUTES): reports and email.
    reports_queue: str = Field(default="reports", min_length=1)
    emails_queue: str = Field(default="emails", min_length=1)
    task_default_retry_delay: int = Field(default=60, ge=0)
    task_max_retries: int = Field(default=3, ge=0)
    worker_concurrency: int = Field(default=4, ge=1)
    # Cold shutdown only (SIGQUIT; SIGTERM with REMAP_SIGTERM=SIGQUIT): running tasks get this
    # long to finish before they are cancelled (acks_late ones go back to the queue).
    worker_soft_shutdown_timeout: float = Field(default=10.0, ge=0)
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


class StorageSettings(BaseSettings):
    """Where report files live: the local disk (embedded run) or an S3 bucket every process reaches.

    Without keys, boto3 finds credentials itself (an instance role, ~/.aws). Objects are private;
    downloads stream through the app after its permission check.
    """

    model_config = SettingsConfigDict(extra="ignore")

    report_storage: Literal["filesystem", "s3"] = "filesystem"
    aws_storage_bucket_name: str = ""
    aws_s3_endpoint_url: str = Field(default="", pattern=r"^(https?://.*)?$")
    aws_s3_region_name: str = ""
    aws_access_key_id: SecretStr = SecretStr("")
    aws_secret_access_key: SecretStr = SecretStr("")
    # Off: a file's URL is useless without the keys. On: URLs carry a signature valid this long.
    aws_querystring_auth: bool = False
    aws_querystring_expire: int = Field(default=300, ge=1, le=604800)

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> StorageSettings:
        if self.report_storage == "s3" and not self.aws_storage_bucket_name:
            raise ValueError("AWS_STORAGE_BUCKET_NAME must be set when REPORT_STORAGE is s3")
        return self


class LoggingSettings(BaseSettings):
    """One logging configuration for web, worker and beat (project/logging.py)."""

    model_config = SettingsConfigDict(env_prefix="LOG_", extra="ignore")

    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


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
    # /metrics for `Authorization: Bearer <token>` (Prometheus); empty: staff only.
    metrics_token: SecretStr = SecretStr("")
    # Swagger UI and the OpenAPI schema: staff only unless this is on.
    api_docs_public: bool = False
    # docker compose's Postgres password: refused, like the secret key, when it is a placeholder.
    postgres_password: SecretStr | None = None
    database_url: str = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    default_from_email: str = "webmaster@localhost"
    media_root: Path = VAR_DIR / "media"
    static_root: Path = VAR_DIR / "static"
    auth_session_ttl_hours: int = Field(default=24, ge=1)
    # Failed logins allowed per account and per client address in a window (accounts.throttling).
    login_failures_rate: str = Field(default="10/min", pattern=r"^\d+/(s|sec|m|min|h|hour|d|day)$")
    trusted_proxies: int = Field(default=0, ge=0, description="reverse proxies in front of the app")
    cache_url: str = Field(default="", pattern=r"^(rediss?://.*)?$", description="redis://host/3")
    # Only one process serves requests (one gunicorn worker): its memory cache is the shared one.
    single_process: bool = False
    report_retention_days: int = Field(default=7, ge=1)
    # Report export (tasks_app.generate_user_report): the seed's 300 s hard limit, a soft one first.
    report_soft_time_limit: float = Field(default=270, gt=0)
    report_time_limit: float = Field(default=300, gt=0)
    report_progress_every: int = Field(default=5000, ge=100)
    report_tmp_dir: Path = VAR_DIR / "tmp" / "reports"
    beat_down_after_seconds: int = Field(default=60, ge=10)
    # Longer than beat's 5 s loop, which renews it (tasks_app.services.beat_lease).
    beat_lease_seconds: int = Field(default=30, ge=10)
    task_stalled_after_seconds: int = Field(default=3600, ge=1)
    # A message whose worker died this many times more than once is failed (a poison message).
    task_max_redeliveries: int = Field(default=3, ge=0)
    # "success=7d,failure=30d,tasks_app.generate_user_report=90d": see parse_task_history_retention.
    task_history_retention: str = ""
    celery: CelerySettings = Field(default_factory=CelerySettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    log: LoggingSettings = Field(default_factory=LoggingSettings)

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

    @field_validator("task_history_retention")
    @classmethod
    def _parseable_task_history_retention(cls, value: str) -> str:
        parse_task_history_retention(value)
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
    def _shared_cache_outside_debug(self) -> Env:
        if self.django_debug or self.cache_url or self.single_process:
            return self
        raise ValueError(
            "CACHE_URL must be set when DJANGO_DEBUG is off: every web process must count failed "
            "logins in one cache (redis://host:6379/3); set SINGLE_PROCESS=true only when one "
            "process serves every request"
        )

    @model_validator(mode="after")
    def _report_soft_limit_first(self) -> Env:
        if self.report_soft_time_limit >= self.report_time_limit:
            raise ValueError("REPORT_SOFT_TIME_LIMIT must be lower than REPORT_TIME_LIMIT")
        return self

    @property
    def task_history_retention_policy(self) -> dict[str, datetime.timedelta]:
        """The defaults, then the configured periods (keys: success, failure, task names)."""
        return {
            **TASK_HISTORY_RETENTION_DEFAULTS,
            **parse_task_history_retention(self.task_history_retention),
        }

    @property
    def secret_key(self) -> str:
        """The configured key; the public development key only when debug is on and none is set
        (the validator refuses a missing key without debug)."""
        key = self.django_secret_key.get_secret_value() if self.django_secret_key else ""
        return key or DEV_SECRET_KEY

    @property
    def login_failures(self) -> tuple[int, int]:
        """LOGIN_FAILURES_RATE as (failures allowed, window in seconds)."""
        count, period = self.login_failures_rate.split("/")
        return int(count), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]

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
        elif config["ENGINE"] == "django.db.backends.postgresql":
            # Django's backend, with the task ledger's records sent with the COMMIT.
            config["ENGINE"] = "project.postgres"
        return config


def parse_task_history_retention(value: str) -> dict[str, datetime.timedelta]:
    """`key=period` pairs separated by commas; a period is hours or days (`36h`, `90d`).

    A key is `success` (how long successful tasks are kept), `failure` (every other status), or a
    task name (every status of that task). No period may be shorter than the overview's longest
    window, which would otherwise count fewer tasks than ran.
    """
    periods: dict[str, datetime.timedelta] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        match = _RETENTION_ITEM.match(item)
        if not match:
            raise ValueError(f"{item!r} is not name=period, e.g. tasks_app.ping=7d or success=14d")
        key, amount = match["key"], int(match["amount"])
        if "." not in key and key not in TASK_HISTORY_RETENTION_DEFAULTS:
            raise ValueError(f"{key!r} is neither success, failure nor a dotted task name")
        period = datetime.timedelta(**{"hours" if match["unit"] == "h" else "days": amount})
        if period < TASK_HISTORY_MIN_RETENTION:
            raise ValueError(
                f"{item!r} is shorter than {TASK_HISTORY_MIN_RETENTION.days} days, "
                "the overview's longest window"
            )
        periods[key] = period
    return periods


def variable_names() -> set[str]:
    """Every environment variable the settings read (the contract of .env.example and compose)."""
    nested = {"celery", "email", "storage", "log"}
    names = {name.upper() for name in Env.model_fields if name not in nested}
    names |= {f"CELERY_{name}".upper() for name in CelerySettings.model_fields}
    names |= {f"EMAIL_{name}".upper() for name in EmailSettings.model_fields}
    names |= {name.upper() for name in StorageSettings.model_fields}
    names |= {f"LOG_{name}".upper() for name in LoggingSettings.model_fields}
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
    sections = {}
    for name, section, prefix in (
        ("celery", CelerySettings, "CELERY_"),
        ("email", EmailSettings, "EMAIL_"),
        ("storage", StorageSettings, ""),
        ("log", LoggingSettings, "LOG_"),
    ):
        try:
            sections[name] = section()
        except ValidationError as exc:
            raise _error(exc, prefix) from None
    try:
        env = Env(**sections)
    except ValidationError as exc:
        raise _error(exc, "") from None
    problem = visibility_timeout_problem(
        broker_url=env.celery.broker_url,
        visibility_timeout=env.celery.broker_visibility_timeout,
        report_time_limit=env.report_time_limit,
    )
    if problem and not env.django_debug:
        raise ConfigurationError(problem)
    if problem:  # development, or a fault test that wants quick redelivery: said, not enforced
        warnings.warn(problem, ConfigurationWarning, stacklevel=2)
    return env
