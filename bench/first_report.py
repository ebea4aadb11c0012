"""A new user's first minutes, timed: a fresh clone, the README's `make run` (a new `.venv`,
packages downloaded without pip's cache), `seed_demo`, logging into the admin in Chromium, and
a first report requested from the front page and downloaded.

    .venv/bin/python bench/first_report.py [--keep]

The clone goes to a temporary folder and runs on the embedded defaults (SQLite, the filesystem
broker), as on a machine with only Python: DATABASE_URL and CELERY_BROKER_URL are removed from
its environment. Port 8000 must be free. Prints the time at each step.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

BASE_DIR = Path(__file__).resolve().parent.parent
ADMIN = "http://127.0.0.1:8000/admin/"
PASSWORD = "a-long-password-of-yours"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="first-report-")) / "clone"
    started = time.monotonic()

    def step(what: str) -> None:
        print(f"{time.monotonic() - started:6.1f} s  {what}", flush=True)

    subprocess.run(["git", "clone", "-q", str(BASE_DIR), str(clone)], check=True)
    step("cloned")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(
        DJANGO_SUPERUSER_USERNAME="admin",
        DJANGO_SUPERUSER_EMAIL="admin@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        PIP_NO_CACHE_DIR="1",
    )
    log = (clone.parent / "make-run.log").open("w")
    run = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_admin(run)
        step("make run: the admin answers")
        subprocess.run(
            [".venv/bin/python", "manage.py", "seed_demo"],
            cwd=clone,
            check=True,
            env={**env, "DJANGO_DEBUG": "true"},
            stdout=subprocess.DEVNULL,
        )
        step("seed_demo: demo data in")
        rows = _first_report(step)
        step(f"report downloaded: {rows} users")
    finally:
        os.killpg(run.pid, signal.SIGINT)  # honcho stops web, worker and beat
        try:
            run.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(clone.parent, ignore_errors=True)


def _wait_for_admin(run: subprocess.Popen) -> None:
    while True:
        try:
            urllib.request.urlopen(ADMIN + "login/", timeout=2)
            return
        except OSError:
            if run.poll() is not None:
                sys.exit("make run ended before the admin answered")
            time.sleep(1)


def _first_report(step) -> int:
    """Log in, follow the front page's "New report", run the action on every user, open the
    report the message links to, and download the file once it is there."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(accept_downloads=True)
        page.goto(ADMIN)
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#user-tools")
        step("logged in")
        page.get_by_role("link", name="New report: choose users").click()
        page.locator("#action-toggle").check()
        page.select_option("select[name=action]", label="Generate CSV report of the filtered users")
        page.click("button[name=index]")
        page.locator(".messagelist a").first.click()
        step("report requested")
        link = page.locator("a[href*='download']").first
        expect(link).to_be_visible(timeout=240_000)
        with page.expect_download() as download:
            link.click()
        with open(download.value.path(), newline="") as file:
            rows = sum(1 for _ in csv.reader(file)) - 1
        browser.close()
    return rows


if __name__ == "__main__":
    main()
