"""Settings of the gunicorn that these tests start: the project's own (from the environment the
test gives), plus a view that fails (`served_urls`), and static files served without a
collectstatic run (as tests/settings.py does)."""

from project.settings import *  # noqa: F403
from project.settings import STORAGES as PROJECT_STORAGES

ROOT_URLCONF = "tests.security.served_urls"
STORAGES = {
    **PROJECT_STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
