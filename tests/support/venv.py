"""A venv with requirements.txt and nothing else: what the Dockerfile installs, for the tests that
run the project as it is deployed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def production_venv(tmp_root: Path) -> Path:
    """Built once per lock content under `tmp_root` (pip's cache makes a rebuild quick; the marker
    is written only after a complete install, so an interrupted build is redone)."""
    lock = (ROOT / "requirements.txt").read_bytes()
    venv = tmp_root / f"prod-venv-{hashlib.sha256(lock).hexdigest()[:12]}"
    marker = venv / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [venv / "bin/python", "-m", "pip", "install", "--quiet", "--require-hashes"]
        subprocess.run([*pip, "-r", str(ROOT / "requirements.txt")], check=True, timeout=600)
        marker.touch()
    return venv
