"""Compose's `monitoring` profile holds together: Prometheus scrapes services that exist with files
that exist, the dashboard and the alert rules name only metrics that the app (its collector,
scraped here) or Flower (a real one, scraped here) export, and docs/operations.md shows the rules
Prometheus loads.

promtool (Debian's `prometheus` package) checks the rules and the configuration as Prometheus
would, when it is installed; the Python checks run everywhere.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support import processes
from tests.support.flower import start_flower
from tests.support.metrics import exported_names, series_names
from tests.support.polling import wait_for
from tests.support.ports import free_port
from tests.support.worker import LOG_DIR, worker_env

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
MONITORING = sorted(name for name, s in SERVICES.items() if "monitoring" in s.get("profiles", []))
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
PROMETHEUS_CONFIG = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
RULES_FILE = PROMETHEUS_DIR / "alerts.yml"
RULES = yaml.safe_load(RULES_FILE.read_text())
DASHBOARD_FILE = ROOT / "deploy" / "grafana" / "dashboards" / "tasks.json"
# Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
# Named by a rule before the app exports it (issue 14, missed runs): remove it here once it is.
PENDING: set[str] = set()
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus)"
)

# What in a PromQL expression is not a metric name: strings, label matchers, ranges, the label
# lists of by/without/on/ignoring, function names (followed by "(") and keywords.
_NOT_NAMES = re.compile(
    r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)'
)
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    text = _NOT_NAMES.sub(" ", expr)
    names = set(re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", text))
    return {name for name in names if name.lower() not in _KEYWORDS}


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def rule_queries() -> list[str]:
    return [rule["expr"] for group in RULES["groups"] for rule in group["rules"]]


@pytest.fixture(scope="module")
def flower_names(django_db_setup, django_db_blocker) -> set[str]:
    """The series names a real Flower serves at /metrics, which Prometheus reads without
    Flower's basic auth (prometheus.yml gives none)."""
    port = free_port()
    with django_db_blocker.unblock():
        env = worker_env(FLOWER_BASIC_AUTH="ops:a-long-enough-password")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    process = start_flower(port, env=env, log_path=LOG_DIR / "flower-monitoring.log")
    try:

        def scrape() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    return r.read().decode()
            except OSError:
                return None

        text = wait_for(scrape, timeout=60, what="Flower's /metrics")
    finally:
        processes.stop(process)
    return series_names(text)


@pytest.fixture
def app_names(db) -> set[str]:
    return exported_names()


@pytest.fixture
def known_names(app_names, flower_names) -> set[str]:
    return app_names | {n for n in flower_names if n.startswith("flower_")} | PROMETHEUS_OWN


def test_metric_names_are_read_from_promql():
    expr = (
        'sum by (task_name) (rate(tasks_finished_total{state="FAILURE"}[15m])) / '
        "histogram_quantile(0.95, sum by (le) (rate(flower_task_runtime_seconds_bucket[5m])))"
        " > 0.2 and on (job) up == 0"
    )
    assert metric_names(expr) == {
        "tasks_finished_total",
        "flower_task_runtime_seconds_bucket",
        "up",
    }


def test_the_app_exports_the_metrics_the_issue_asks_for(app_names):
    assert {
        "tasks_finished_total",
        "tasks_in_progress",
        "tasks_runtime_seconds_bucket",
        "tasks_queue_wait_seconds_bucket",
        "tasks_queue_messages",
        "tasks_outbox_messages",
        "tasks_beat_heartbeat_age_seconds",
        "tasks_emails_total",
        "tasks_reports",
        "tasks_workers_online",
    } <= app_names
    assert not PENDING & app_names, "exported now: remove it from PENDING"


def test_dashboard_loads_and_queries_only_exported_metrics(known_names):
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for subject in ("throughput", "failure rate", "p50", "p95", "queue depth", "outbox", "beat"):
        assert subject in titles
    queries = dashboard_queries()
    assert queries and all(q.strip() for q in queries)
    for query in queries:
        assert metric_names(query), query
        assert metric_names(query) <= known_names, query
    # Every panel reads the provisioned data source.
    datasource = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text()
    )["datasources"][0]
    assert {panel["datasource"]["uid"] for panel in dashboard["panels"]} == {datasource["uid"]}


def test_durations_are_quantiles_of_the_histograms():
    quantiles = [q for q in dashboard_queries() if "histogram_quantile" in q]
    assert any("0.5," in q and "tasks_runtime_seconds_bucket" in q for q in quantiles)
    assert any("0.95," in q and "tasks_runtime_seconds_bucket" in q for q in quantiles)


def test_alert_rules_name_exported_metrics(known_names):
    alerts = {rule["alert"] for group in RULES["groups"] for rule in group["rules"]}
    assert {
        "WorkersDown",
        "QueueGrowing",
        "OutboxNotDraining",
        "BeatHeartbeatStale",
        "ScheduleMissedRuns",
        "EmailFailureRate",
    } <= alerts
    for query in rule_queries():
        assert metric_names(query) <= known_names | PENDING, query
    queue_growing = next(
        rule
        for group in RULES["groups"]
        for rule in group["rules"]
        if rule["alert"] == "QueueGrowing"
    )
    assert queue_growing["for"] == "10m"


@needs_promtool
def test_promtool_accepts_the_rules():
    result = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES_FILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rule_queries())} rules found" in result.stdout


@needs_promtool
def test_promtool_accepts_the_configuration(tmp_path):
    # The token file exists only inside the container (entrypoint.sh writes it): point at a copy.
    config = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    token = tmp_path / "metrics_token"
    token.write_text("token")
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/prometheus/metrics_token", str(token))
    )
    shutil.copy(RULES_FILE, tmp_path / "alerts.yml")

    result = subprocess.run(
        [PROMTOOL, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_operations_doc_shows_the_rules_prometheus_loads():
    doc = (ROOT / "docs" / "operations.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
    assert RULES_FILE.read_text() in blocks, "copy deploy/prometheus/alerts.yml into the doc"
    assert "deploy/prometheus/alerts.yml" in doc


def test_monitoring_profile_holds_prometheus_and_grafana_on_loopback():
    assert MONITORING == ["grafana", "prometheus"]
    for name in MONITORING:
        for port in SERVICES[name]["ports"]:
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
        assert "test" in SERVICES[name]["healthcheck"]


def test_prometheus_scrapes_services_of_the_compose_file():
    jobs = {job["job_name"]: job for job in PROMETHEUS_CONFIG["scrape_configs"]}
    assert set(jobs) == {"app", "flower"}
    for job in jobs.values():
        for static in job["static_configs"]:
            for target in static["targets"]:
                host, _, port = target.partition(":")
                assert host in SERVICES and not SERVICES[host].get("profiles"), target
                container_ports = {p.rpartition(":")[2] for p in SERVICES[host]["ports"]}
                assert port in container_ports, target
    assert jobs["app"]["metrics_path"] == "/metrics"
    assert jobs["app"]["authorization"]["credentials_file"] == "/prometheus/metrics_token"
    assert PROMETHEUS_CONFIG["rule_files"] == ["alerts.yml"]


def mounted(service: str) -> dict[str, Path]:
    """A service's bind mounts from the repository: container path -> host path."""
    mounts = {}
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./"):
            mounts[target] = ROOT / source
    return mounts


@pytest.mark.parametrize("service", ["prometheus", "grafana"])
def test_every_mounted_file_exists_and_the_entrypoint_is_among_them(service):
    mounts = mounted(service)
    for source in mounts.values():
        assert source.exists(), f"{service} mounts {source}, which does not exist"
    script = SERVICES[service]["entrypoint"][-1]
    [(target, source)] = [(t, s) for t, s in mounts.items() if script.startswith(t)]
    assert (source / Path(script).relative_to(target) if source.is_dir() else source).is_file()


def test_prometheus_reads_the_config_and_rules_it_mounts():
    [config_flag] = [c for c in SERVICES["prometheus"]["command"] if c.startswith("--config.file=")]
    config = Path(config_flag.partition("=")[2])
    mounts = mounted("prometheus")
    assert mounts[str(config.parent)] / config.name == PROMETHEUS_DIR / "prometheus.yml"
    assert (PROMETHEUS_DIR / PROMETHEUS_CONFIG["rule_files"][0]).is_file()


def test_grafana_provisions_the_dashboard_folder_it_mounts():
    mounts = mounted("grafana")
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/tasks.yml").read_text()
    )["providers"][0]
    assert mounts[provider["options"]["path"]] == DASHBOARD_FILE.parent
    assert mounts["/etc/grafana/provisioning"] == ROOT / "deploy/grafana/provisioning"


def test_grafana_password_and_metrics_token_come_from_the_environment():
    grafana = SERVICES["grafana"]["environment"]
    assert grafana["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-}"
    assert grafana["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert SERVICES["prometheus"]["environment"]["METRICS_TOKEN"] == "${METRICS_TOKEN:-}"


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("", True),
        ("admin", True),
        ("change-me", True),
        ("short-pw", True),
        ("a-long-password", False),
    ],
)
def test_grafana_refuses_to_start_without_a_real_password(password, refused):
    result = subprocess.run(
        ["sh", str(ROOT / "deploy/grafana/entrypoint.sh"), "true"],
        env={"PATH": "/usr/bin:/bin", "GF_SECURITY_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert (result.returncode != 0) is refused
    if refused:
        assert result.stderr.startswith("configuration error: GRAFANA_ADMIN_PASSWORD")


def test_prometheus_refuses_to_start_without_the_token_and_writes_it_for_the_scrape(tmp_path):
    script = str(PROMETHEUS_DIR / "entrypoint.sh")
    token_file = tmp_path / "metrics_token"
    env = {"PATH": "/usr/bin:/bin", "METRICS_TOKEN_FILE": str(token_file)}

    refused = subprocess.run(["sh", script, "true"], env=env, capture_output=True, text=True)
    started = subprocess.run(
        ["sh", script, "true"], env={**env, "METRICS_TOKEN": "s3cret-token"}, capture_output=True
    )

    assert refused.returncode == 1 and "METRICS_TOKEN must be set" in refused.stderr
    assert started.returncode == 0
    assert token_file.read_text() == "s3cret-token"
    assert token_file.stat().st_mode & 0o077 == 0  # readable by Prometheus' user only
