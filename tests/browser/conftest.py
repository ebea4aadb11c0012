"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server
(in this process, on the test database), with real worker and beat processes.

They run on Postgres only: the live server's threads, the workers and beat write the same
database at once, which the embedded SQLite file serialises into timeouts. A failed test leaves a
screenshot of its page in var/test/screenshots/. Pictures for the docs (docs/images/) are taken
by `shoot`, and written there when UPDATE_DOCS_IMAGES=1 (`make docs-images`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import PASSWORD
from tests.support.services import unavailable
from tests.support.smtp import Handler, SmtpServer
from tests.support.worker import QUEUE_VARIABLES, CeleryWorker, private_queue

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(settings.MEDIA_ROOT).parent / "screenshots"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
VIEWPORT = {"width": 1536, "height": 900}
OUTCOME = pytest.StashKey[dict[str, pytest.TestReport]]()


ON_SQLITE = pytest.mark.skip(
    reason="browser tests run on Postgres (set DATABASE_URL, as `make test-postgres` and CI do): "
    "the live server, workers and beat write at once, which SQLite serialises"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marked `browser`; skipped at collection on SQLite, before any worker is started."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if connection.vendor != "postgresql":
                item.add_marker(ON_SQLITE)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the item, for the `page` fixture's screenshot on failure."""
    report = yield
    item.stash.setdefault(OUTCOME, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def chromium():
    """One Chromium for the browser tests. Playwright's sync API keeps an event loop on this
    thread, which Django's async-safety check takes for async code calling the ORM: the tests
    do call the ORM between steps, synchronously, so the check is turned off while they run."""
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium; `make chromium`)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            yield browser
            browser.close()


@pytest.fixture
def viewer_timezone() -> str:
    """The browser's time zone; a test module overrides this fixture to be somewhere else."""
    return "UTC"


@pytest.fixture
def page(request, chromium, live_server, viewer_timezone):
    """A fresh browser context (no cookies) for each test; a screenshot when the test failed."""
    context = chromium.new_context(
        base_url=live_server.url, viewport=VIEWPORT, timezone_id=viewer_timezone
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    reports = request.node.stash.get(OUTCOME, {})
    if any(report.failed for report in reports.values()):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]", "_", request.node.name)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    context.close()


def login(page, user) -> None:
    """Sign in through the admin's login form, as a person does."""
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def choose_action(page, action_label: str) -> None:
    """Tick every row of a changelist and choose the action named `action_label`."""
    page.locator("#action-toggle").check()
    page.select_option("select[name=action]", label=action_label)


def run_action(page, action_label: str) -> None:
    choose_action(page, action_label)
    page.click("button[name=index]")


def shoot(page, name: str, *, element: str | None = None) -> Path:
    """A picture for the docs: docs/images/<name>.png when UPDATE_DOCS_IMAGES=1 (the committed
    pictures), else var/test/screenshots/docs-<name>.png, so the step runs in every run."""
    if os.environ.get("UPDATE_DOCS_IMAGES") == "1":
        path = DOCS_IMAGES / f"{name}.png"
    else:
        path = SCREENSHOTS / f"docs-{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    target = page.locator(element) if element else page
    target.screenshot(path=path)
    return path


@dataclass
class RefuseOnce(Handler):
    """The SMTP server refuses the first message to `refuseonce*@` for good (554), then accepts
    it: an email fails, and its retry arrives."""

    refused: set[str] = field(default_factory=set)

    async def handle_DATA(self, server, session, envelope):
        rcpt = envelope.rcpt_tos[0]
        with self.lock:
            refuse = rcpt.startswith("refuseonce") and rcpt not in self.refused
            self.refused.add(rcpt)
        if refuse:
            return "554 5.7.1 Message rejected as spam"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture(scope="package")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.handler = server.controller.handler = RefuseOnce()
    server.start()
    yield server
    server.stop()


EMAIL_QUEUE = "emails-browser"


@pytest.fixture(scope="package")
def email_worker(django_db_setup, django_db_blocker, smtp) -> Iterator[CeleryWorker]:
    """A worker for the emails, sending through `smtp`, on a queue of the browser tests."""
    with django_db_blocker.unblock():
        worker = CeleryWorker(
            concurrency=1,
            queues=EMAIL_QUEUE,
            **smtp.worker_env(**{QUEUE_VARIABLES["emails"]: EMAIL_QUEUE}),
        ).start()
    yield worker
    worker.stop()


@pytest.fixture
def emails_to_smtp(settings, email_worker) -> CeleryWorker:
    """Emails queued during the test (by the live server too: same process) go to `email_worker`."""
    private_queue(settings, "emails", EMAIL_QUEUE)
    return email_worker
