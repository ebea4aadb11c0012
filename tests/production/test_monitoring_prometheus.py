"""A real Prometheus (Debian's `prometheus` package) scrapes the app's /metrics as
deploy/prometheus/prometheus.yml says, with the token from a file, and evaluates every alert rule
against what it scraped. Skipped where Prometheus is not installed."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.production.test_monitoring import PROMETHEUS_DIR, RULES_FILE, rule_queries
from tests.support import processes
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.support.worker import LOG_DIR

PROMETHEUS = shutil.which("prometheus")
TOKEN = "metrics-token-prometheus-sends"
pytestmark = [
    pytest.mark.skipif(
        PROMETHEUS is None, reason="Prometheus is not installed (apt-get install prometheus)"
    ),
    pytest.mark.django_db(transaction=True),
]


def scrape_config(tmp_path, app: str) -> dict:
    """The repository's configuration, pointed at `app` (host:port) and at files under tmp_path,
    scraping every 2 seconds; a second job sends a wrong token."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "2s", "evaluation_interval": "2s"}
    config["rule_files"] = [str(RULES_FILE)]
    token = tmp_path / "metrics_token"
    token.write_text(TOKEN)
    wrong = tmp_path / "wrong_token"
    wrong.write_text("not-the-token")
    [app_job] = [job for job in config["scrape_configs"] if job["job_name"] == "app"]
    app_job["scrape_timeout"] = "2s"
    app_job["static_configs"] = [{"targets": [app]}]
    app_job["authorization"]["credentials_file"] = str(token)
    wrong_job = {
        **app_job,
        "job_name": "app-wrong-token",
        "authorization": {"type": "Bearer", "credentials_file": str(wrong)},
    }
    config["scrape_configs"] = [app_job, wrong_job]
    return config


def api(port: int, path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]


@pytest.fixture
def prometheus(tmp_path, live_server, settings):
    settings.METRICS_TOKEN = TOKEN
    app = urllib.parse.urlparse(live_server.url).netloc
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scrape_config(tmp_path, app)))
    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    process = processes.spawn(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        log_path=LOG_DIR / "prometheus.log",
    )
    try:
        yield port
    finally:
        processes.stop(process)


def value(port: int, query: str) -> float | None:
    try:
        result = api(port, "query", query=query)["result"]
    except OSError:
        return None  # not listening yet
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_with_the_token_and_evaluates_every_rule(celery_worker, prometheus):
    wait_for(lambda: value(prometheus, 'up{job="app"}') == 1, timeout=60, what="a scrape")
    wait_for(
        lambda: value(prometheus, 'up{job="app-wrong-token"}') is not None,
        timeout=30,
        what="a scrape with the wrong token",
    )

    assert value(prometheus, "tasks_workers_online") >= 1
    assert value(prometheus, "tasks_broker_up") == 1
    assert value(prometheus, 'up{job="app-wrong-token"}') == 0
    [wrong] = [
        target
        for target in api(prometheus, "targets")["activeTargets"]
        if target["labels"]["job"] == "app-wrong-token"
    ]
    assert "403" in wrong["lastError"]

    def evaluated() -> dict[str, dict] | None:
        rules = {
            rule["name"]: rule
            for group in api(prometheus, "rules")["groups"]
            for rule in group["rules"]
        }
        # No beat runs here (+Inf since its last tick): the rule is pending for its minute, once
        # an evaluation has seen a scrape.
        return rules if rules["BeatHeartbeatStale"]["state"] == "pending" else None

    rules = wait_for(evaluated, timeout=30, what="the stale beat noticed")
    assert len(rules) == len(rule_queries())
    assert {name: rule["health"] for name, rule in rules.items()} == dict.fromkeys(rules, "ok")
    assert rules["WorkersDown"]["state"] == "inactive"  # the session's worker answers
