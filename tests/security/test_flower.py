"""Finding 7: Flower refuses placeholder and short passwords, listens on 127.0.0.1 unless told
otherwise, compose publishes it on the host's loopback only, and the docs say how to add TLS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.security.conftest import ROOT, free_port
from tests.support.polling import wait_for
from tests.support.worker import worker_env

pytestmark = pytest.mark.django_db


def flower(port: int) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "project", "flower", "--conf=flowerconfig.py",
        f"--port={port}", "--persistent=False",
    ]  # fmt: skip


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket in LISTEN state on `port`, from /proc/net/tcp (IPv4)."""
    addresses = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            addresses.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return addresses


@pytest.mark.parametrize(
    ("basic_auth", "reason"),
    [
        ("admin:change-me", "placeholder"),
        ("ops:short-pw", "shorter than 12"),
        ("ops:a-long-enough-password,admin:change-me", "placeholder"),
    ],
)
def test_flower_refuses_weak_passwords(basic_auth, reason):
    result = subprocess.run(
        flower(free_port()),
        cwd=ROOT, env=worker_env(FLOWER_BASIC_AUTH=basic_auth),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("configuration error: FLOWER_BASIC_AUTH")
    assert reason in lines[0]
    assert "change-me" not in lines[0] and "short-pw" not in lines[0]


def test_flower_listens_on_loopback_only_by_default(tmp_path):
    port = free_port()
    env = worker_env(FLOWER_BASIC_AUTH="ops:a-long-enough-password")
    env.pop("FLOWER_ADDRESS", None)
    log = (tmp_path / "flower.log").open("wb")
    process = subprocess.Popen(
        flower(port), cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        addresses = wait_for(lambda: listening_addresses(port), timeout=30, what="flower")
        assert addresses == {"127.0.0.1"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def test_compose_publishes_flower_on_the_host_loopback_only():
    flower_service = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["flower"]

    assert flower_service["ports"] == ["127.0.0.1:5555:5555"]


def test_docs_say_how_to_put_flower_behind_tls():
    operations = (ROOT / "docs" / "operations.md").read_text()
    section = operations[operations.index("## Flower") :]

    assert "TLS" in section and "127.0.0.1" in section
