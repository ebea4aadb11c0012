"""`make audit`: pip-audit over the pinned requirements never passes without having checked them."""

from __future__ import annotations

import subprocess

from tests.security.conftest import ROOT


def test_audit_never_passes_silently():
    result = subprocess.run(
        ["make", "-s", "audit"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr

    if result.returncode == 0:
        assert "No known vulnerabilities found" in output
        assert "could not be audited" not in output
    else:
        assert "audit: NOT DONE" in output or "Found" in output, output[-2000:]
