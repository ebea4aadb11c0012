"""gunicorn with the project's config (project/gunicorn.py): its own start-up and access lines
come out in the project's log format, so LOG_FORMAT=json is JSON from gunicorn too."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import accepts, free_port

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = ROOT / "var" / "test" / "logs"


def test_gunicorn_start_up_and_access_lines_are_json(tmp_path):
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"gunicorn-{port}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "HOME": str(tmp_path),  # gunicorn's control socket goes under $HOME
    }
    command = [sys.executable, "-m", "gunicorn", "project.wsgi:application"]
    server = processes.spawn(
        [*command, "--config", "python:project.gunicorn"], env=env, log_path=log_path
    )
    try:
        wait_for(lambda: server.poll() is not None or accepts(port), what="gunicorn listening")
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/no-such-page/", headers={"Host": "localhost"}
        )
        try:
            urllib.request.urlopen(request, timeout=10)
        except urllib.error.HTTPError as error:
            assert error.code == 404
        wait_for(lambda: "gunicorn.access" in log_path.read_text(), what="the access line")
    finally:
        processes.stop(server)

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line, not only the ones we look for
    by_logger = {record["logger"]: record for record in records}
    started = [record["message"] for record in records if record["logger"] == "gunicorn.error"]
    assert f"Listening at: http://127.0.0.1:{port} ({server.pid})" in started
    access = by_logger["gunicorn.access"]
    assert '"GET /no-such-page/ HTTP/1.1" 404' in access["message"]
    assert {"time", "level", "process"} <= set(access)
