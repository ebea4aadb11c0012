"""Django settings. Every value that differs between machines comes from `project.env`."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from kombu import Exchange, Queue

from project.env import VAR_DIR, ConfigurationError, load_env
from project.logging import logging_config

PROJECT_DIR = Path(__file__).resolve().parent

try:
    ENV = load_env()
except ConfigurationError as exc:
    # One clear line and a non-zero exit for every process (web, worker, beat, manage.py).
    sys.exit(f"configuration error: {exc}")

SECRET_KEY = ENV.secret_key
DEBUG = ENV.django_debug
ALLOWED_HOSTS = ENV.allowed_hosts
CSRF_TRUSTED_ORIGINS = ENV.csrf_trusted_origins

SILENCED_SYSTEM_CHECKS: list[str] = []  # each one added below says why

# --- HTTPS and browser protections (docs/security.md). TLS ends at a reverse proxy in front of
# gunicorn; with debug off the app redirects to HTTPS, sends HSTS and marks cookies Secure.
# https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
if not DEBUG:
    SECURE_SSL_REDIRECT = ENV.django_secure_ssl_redirect
    # Probes inside the network (compose, an orchestrator) call the health check, and Prometheus
    # scrapes /metrics, over plain HTTP (the token travels only inside that network).
    SECURE_REDIRECT_EXEMPT = [r"^api/health/$", r"^metrics$"]
    SECURE_HSTS_SECONDS = ENV.django_secure_hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = ENV.django_secure_hsts_include_subdomains
    SECURE_HSTS_PRELOAD = ENV.django_secure_hsts_preload
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = ENV.django_secure_cookies
    SECURE_PROXY_SSL_HEADER = ENV.proxy_ssl_header
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a commitment browsers ship for months: opt in with
        # DJANGO_SECURE_HSTS_PRELOAD=true, not by default.
        SILENCED_SYSTEM_CHECKS.append("security.W021")
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Settings and request data on the debug page and in error emails: URL passwords masked too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "project.reporting.SafeExceptionReporterFilter"
# Content-Security-Policy on every response (django-csp). Neither the admin nor Swagger UI
# (SpectacularSwaggerSplitView, assets from drf-spectacular-sidecar) runs an inline script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin's widgets and Swagger UI set style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

INSTALLED_APPS = [
    # First: its `changepassword` command replaces django.contrib.auth's (accounts.services).
    "accounts",
    "project.apps.AdminConfig",  # django.contrib.admin with the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's assets, served from here (not a CDN)
    "django_filters",
    "django_celery_beat",
    "django_celery_results",
    "axes",
    "tasks_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files under gunicorn
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "project.timezones.ViewerTimeZoneMiddleware",  # dates in the viewer's time zone
    "tasks_app.ledger.middleware.TaskTriggerMiddleware",  # who queued a task (tasks_app.ledger)
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a refused login into accounts.throttling's 429
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PROJECT_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"admin_crumbs": "project.admin_crumbs"},
        },
    },
]

DATABASES = {"default": ENV.database()}
# Persistent connections, checked before reuse, as Django does for requests; a worker checks them
# around each task (project/celery.py), since a connection per task costs more than the task.
DATABASES["default"].update(CONN_MAX_AGE=60, CONN_HEALTH_CHECKS=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_SESSION_TTL_HOURS = ENV.auth_session_ttl_hours

# --- Failed logins, admin and API alike (accounts.throttling): django-axes counts each attempt
# per account and per client address in the default cache; past LOGIN_FAILURES_RATE's count in
# its window, logins from that address or to that account are refused (429) until it ends.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.RoleModelBackend",  # Django's, plus the permissions a role grants
]
AXES_HANDLER = "accounts.throttling.LoginAttemptHandler"
AXES_FAILURE_LIMIT, _LOGIN_WINDOW_SECONDS = ENV.login_failures
AXES_COOLOFF_TIME = timedelta(seconds=_LOGIN_WINDOW_SECONDS)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own, not the pair
# The login forms' and the API's field. Set here, not left to axes' lazy default, which the
# debug page's settings filter cannot read as a string.
AXES_USERNAME_FORM_FIELD = "username"
AXES_CLIENT_IP_CALLABLE = "accounts.throttling.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.throttling.lockout_response"
AXES_ENABLE_ADMIN = False  # the cache handler writes no AccessAttempt rows to show
AXES_VERBOSE = False
# Reverse proxies in front of the app: how far to trust X-Forwarded-For for client addresses.
TRUSTED_PROXIES = ENV.trusted_proxies

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PROJECT_DIR / "static"]
STATIC_ROOT = ENV.static_root
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
# Report files: the local disk in the embedded run; with REPORT_STORAGE=s3 a private bucket (S3,
# MinIO) that web and workers share. Downloads stream through the app after its permission check.
# https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html
STORAGES = {
    # Report files hold personal data: never world-readable (Django's default is 0644).
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"file_permissions_mode": 0o640, "directory_permissions_mode": 0o750},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if ENV.storage.report_storage == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ENV.storage.aws_storage_bucket_name,
            "endpoint_url": ENV.storage.aws_s3_endpoint_url or None,
            "region_name": ENV.storage.aws_s3_region_name or None,
            "access_key": ENV.storage.aws_access_key_id.get_secret_value() or None,
            "secret_key": ENV.storage.aws_secret_access_key.get_secret_value() or None,
            "default_acl": "private",
            "querystring_auth": ENV.storage.aws_querystring_auth,
            "querystring_expire": ENV.storage.aws_querystring_expire,
            "file_overwrite": False,  # a report never replaces another's object
        },
    }
MEDIA_URL = "media/"
MEDIA_ROOT = ENV.media_root
REPORT_RETENTION_DAYS = ENV.report_retention_days
# CSV reports: time limits of the export task (seconds), progress saved every N rows, and where a
# report is written before it is saved to storage (STORAGES["default"]; see docs/reports.md for S3).
REPORT_SOFT_TIME_LIMIT = ENV.report_soft_time_limit
REPORT_TIME_LIMIT = ENV.report_time_limit
REPORT_PROGRESS_EVERY = ENV.report_progress_every
REPORT_TMP_DIR = ENV.report_tmp_dir

# One config for web, worker and beat (project/celery.py applies it in Celery's setup_logging).
LOGGING = logging_config(log_format=ENV.log.format, level=ENV.log.level)

# --- Email: the SMTP backend when EMAIL_HOST is set, otherwise one file per message in var/mail.
if ENV.email.host:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = ENV.email.file_path
EMAIL_HOST = ENV.email.host or "localhost"
EMAIL_PORT = ENV.email.port
EMAIL_HOST_USER = ENV.email.host_user
EMAIL_HOST_PASSWORD = ENV.email.host_password.get_secret_value()
EMAIL_USE_TLS = ENV.email.use_tls
EMAIL_USE_SSL = ENV.email.use_ssl
EMAIL_TIMEOUT = ENV.email.timeout  # a send never hangs a worker
DEFAULT_FROM_EMAIL = ENV.default_from_email

# --- Celery (read by project/celery.py with namespace="CELERY").
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = ENV.celery.broker_url
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The embedded broker: messages are files under var/broker. Its default 1 s polling makes it
    # crawl; 50 ms gives a few hundred tasks per second. Both folders are the same on purpose.
    # kombu's filesystem transport with exchange tables that concurrent binds cannot corrupt
    # (project/broker.py); the URL stays filesystem://.
    CELERY_BROKER_TRANSPORT = "project.broker:Transport"
    _BROKER_DIR = VAR_DIR / "broker"
    for _folder in ("queue", "control", "processed"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "control_folder": str(_BROKER_DIR / "control"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "store_processed": False,
        "polling_interval": 0.05,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis redelivers a message a worker took but never acknowledged (it was killed) once the
    # visibility timeout passes; it must exceed the longest countdown/ETA, or those run twice.
    # The sweep for such messages runs every few seconds instead of kombu's 100 s default.
    # https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": ENV.celery.broker_visibility_timeout,
        "unacked_restore_interval": max(1, min(10, ENV.celery.broker_visibility_timeout // 4)),
        "unacked_restore_throttle": 1,
    }
# "django-db" is django-celery-results' backend, in the ledger's subclass: a task's row exists
# from its enqueue, so its outcome is one UPDATE, committed with its attempt's end
# (docs/architecture.md).
CELERY_RESULT_BACKEND = (
    "tasks_app.ledger.backend:LedgerBackend"
    if ENV.celery.result_backend == "django-db"
    else ENV.celery.result_backend
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]  # never pickle: a message must not be able to run code
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-expires
# None: Celery expires nothing (the backend's cleanup() returns at once and beat installs no
# celery.backend_cleanup); tasks_app.expire_task_history keeps history by TASK_HISTORY_RETENTION.
# A result backend other than the ORM keeps the seed's hour.
CELERY_RESULT_EXPIRES = None if ENV.celery.result_backend == "django-db" else 3600
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#result-extended
CELERY_RESULT_EXTENDED = True  # task name, args, worker and dates land in TaskResult
# Off: every task's base class (tasks_app.ledger.task.LedgerTask) records the start of each attempt
# itself, with its worker, wait and number, and refuses to run a task cancelled in the ledger.
CELERY_TASK_TRACK_STARTED = False
# Queues by the kind of work they hold, and the kind of each routed task (the rest: "default").
# Long reports get their own queue and workers, so they never hold back a welcome email.
TASK_QUEUES = {
    "default": ENV.celery.task_default_queue,
    "reports": ENV.celery.reports_queue,
    "emails": ENV.celery.emails_queue,
}
TASK_ROUTES = {
    "tasks_app.generate_user_report": "reports",
    "tasks_app.send_email": "emails",
    "tasks_app.send_welcome_email": "emails",
}
# A router function rather than a dict of queue names: it reads the two settings above when a
# task is sent (Celery reads its own routes once), so a test can give a queue a private name.
# A queue given by the caller (PublishOptions.queue, a schedule's queue) still wins.
# https://docs.celeryq.dev/en/stable/userguide/routing.html#routers
CELERY_TASK_ROUTES = ("tasks_app.queue.routes.route_task",)
# What a worker without -Q consumes: all three (`make run`'s one worker).
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-queues
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name) for name in dict.fromkeys(TASK_QUEUES.values())
]
CELERY_TASK_DEFAULT_QUEUE = TASK_QUEUES["default"]
CELERY_TASK_DEFAULT_RETRY_DELAY = ENV.celery.task_default_retry_delay
CELERY_TASK_MAX_RETRIES = ENV.celery.task_max_retries
CELERY_WORKER_CONCURRENCY = ENV.celery.worker_concurrency
# Stopping a worker (docs/reliability.md, "Deploys"). SIGTERM is a warm shutdown: no new task
# starts, running ones finish, however long (until the supervisor's SIGKILL: compose's
# stop_grace_period). A cold shutdown (SIGQUIT, a second Ctrl-C, or SIGTERM when the worker runs
# with REMAP_SIGTERM=SIGQUIT) first waits this long for running tasks (the soft shutdown), then
# cancels the rest: an acks_late task's message goes back to the queue at once (not after
# Redis' visibility timeout), a report is failed as lost (tasks_app.ledger.lost). Keep it below
# the supervisor's grace period. An idle worker has nothing to wait for: it stops at once.
# https://docs.celeryq.dev/en/stable/userguide/workers.html#soft-shutdown
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = ENV.celery.worker_soft_shutdown_timeout
CELERY_WORKER_ENABLE_SOFT_SHUTDOWN_ON_IDLE = False
# One message at a time per process: long tasks do not hold back short ones queued behind them.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = True  # Flower and the task history see tasks as they run
# No task-sent event: the ledger records every task from its enqueue (tasks_app.ledger), and the
# event was a second broker publish per task (enqueue about 1.3x faster without it,
# docs/benchmarks.md).
CELERY_TASK_SEND_SENT_EVENT = False
# Our subclass: a heartbeat for the health check, and no overwriting of edited default entries.
CELERY_BEAT_SCHEDULER = "tasks_app.scheduler:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A worker that loses the broker (a restart, a failover) reconnects by itself, with back-off, up
# to Celery's 100 tries; tests/faults/test_broker_restart.py restarts Redis and RabbitMQ under one.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-retry
CELERY_BROKER_CONNECTION_RETRY = True
# Connecting to an unreachable broker gives up after 1.5 s (Celery's default is 4 s), so that a
# request publishing after its commit answers within 2 s even when the broker's host is gone:
# the task waits in the outbox for the relay. The worker's own connection retries anyway.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#broker-connection-timeout
CELERY_BROKER_CONNECTION_TIMEOUT = 1.5
# Off (Celery 5's default, said here because Celery 6 turns it on): a task running when the
# connection drops runs to its end and records its result; the broker redelivers its message
# (it was never acknowledged), and the redelivery is a no-op because every task claims its row
# first (an email's log row, a report). On, the running task would be killed half-way, and a
# report killed so would stay "running" until the stale sweep fails it.
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-cancel-long-running-tasks-on-connection-loss
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Celery's Django fixup closes every database connection before and after every task unless this
# is set; then only every 2 x this many tasks. Between those, project/celery.py applies Django's
# own rule (CONN_MAX_AGE, and a connection that failed is replaced) around each task.
CELERY_DB_REUSE_MAX = 500
# Health reports beat down when its heartbeat (tasks_app.scheduler) is older than this.
BEAT_DOWN_AFTER_SECONDS = ENV.beat_down_after_seconds
# Only the beat holding the lease sends; a standby takes over this long after the holder died.
BEAT_LEASE_SECONDS = ENV.beat_lease_seconds
# The shortest interval the API and the admin accept for a schedule (tasks_app.services.schedules).
SCHEDULE_MIN_INTERVAL_SECONDS = 10
# A schedule's run counts as missed this long after it was due with no run (docs/schedules.md).
SCHEDULE_MISSED_GRACE_SECONDS = 60
# A STARTED task with no time limit shows as stalled after this long (docs/periodic.md).
TASK_STALLED_AFTER_SECONDS = ENV.task_stalled_after_seconds
# A message delivered again after its worker died this many times is failed, not run
# (tasks_app.ledger.redeliveries): a task that kills its worker must not loop.
TASK_MAX_REDELIVERIES = ENV.task_max_redeliveries
# How long task history is kept: {"success": ..., "failure": ..., "<task name>": ...} (timedeltas).
TASK_HISTORY_RETENTION = ENV.task_history_retention_policy

# --- REST API
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON nested deeper than project.parsers.MAX_DEPTH is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["project.parsers.JSONParser"],
    # Bearer tokens (AuthSession) for API clients; the admin's session cookie for the browsable API.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "project.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "project.errors.exception_handler",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "Background tasks API",
    "DESCRIPTION": "Users, sessions, reports, schedules and task history.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # /api/schema/ and /api/docs/ for staff (session or bearer token) unless API_DOCS_PUBLIC.
    "SERVE_PERMISSIONS": ["project.api_docs.DocsPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Links between operations (project/schema_links.py), after drf-spectacular's own enum hook.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "project.schema_links.add_links",
    ],
}
API_DOCS_PUBLIC = ENV.api_docs_public

# --- Cache: the failed-login counts and the health report, shared by every process through
# CACHE_URL=redis://...; a process without debug refuses to start without it unless
# SINGLE_PROCESS says that one process serves everything (project/env.py).
if ENV.cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ENV.cache_url,
        }
    }
else:  # memory of this process: right for one process, which env.py has made sure of
    SILENCED_SYSTEM_CHECKS.append("axes.W001")

# --- The task-queue port's adapter (tasks_app.queue); tests may swap in the in-memory one.
TASK_QUEUE_BACKEND = "tasks_app.queue.celery.CeleryTaskQueue"

# --- Health check: details for staff and for callers with this token; results cached briefly.
HEALTH_TOKEN = ENV.health_token.get_secret_value()
HEALTH_CACHE_SECONDS = 5
# --- Metrics (project/metrics.py): Prometheus scrapes /metrics with this bearer token.
METRICS_TOKEN = ENV.metrics_token.get_secret_value()

# The parsed environment holds every secret in plain text (DATABASE_URL with its password): it is
# no setting, so the debug page's settings list and `from project.settings import *` never see it.
del ENV
