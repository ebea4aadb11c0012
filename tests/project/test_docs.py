"""The docs stay right about the code: every file and test they name exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DOCS = sorted([BASE_DIR / "README.md", *(BASE_DIR / "docs").glob("*.md")])
CODE_PATH = re.compile(r"\b((?:accounts|bench|project|tasks_app|tests)/[\w/]+\.py)(?:::(\w+))?")


def named_paths() -> list[tuple[str, str, str | None]]:
    return [
        (doc.name, match[1], match[2])
        for doc in DOCS
        for match in CODE_PATH.finditer(doc.read_text())
    ]


@pytest.mark.parametrize(("doc", "path", "test_name"), named_paths())
def test_a_path_named_in_the_docs_exists(doc: str, path: str, test_name: str | None):
    file = BASE_DIR / path
    assert file.is_file(), f"{doc} names {path}, which does not exist"
    if test_name:
        assert re.search(rf"def {test_name}\b", file.read_text()), f"{doc}: {path}::{test_name}"


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+\.(?:png|jpg|svg))\)")
# The pictures the browser tests take for the guide (tests/browser/conftest.py's `shoot`).
GUIDE_PICTURES = {
    "report-action",
    "report-in-progress",
    "report-completed",
    "history-retry",
    "overview",
    "schedule-edit",
}


def shown_pictures() -> list[tuple[str, str]]:
    return [(doc.name, match[1]) for doc in DOCS for match in IMAGE.finditer(doc.read_text())]


@pytest.mark.parametrize(("doc", "picture"), shown_pictures())
def test_a_picture_shown_in_the_docs_exists(doc: str, picture: str):
    folder = BASE_DIR if doc == "README.md" else BASE_DIR / "docs"
    assert (folder / picture).is_file(), f"{doc} shows {picture}, which does not exist"


def test_the_guide_shows_every_picture_the_browser_tests_take():
    shown = {Path(picture).stem for doc, picture in shown_pictures() if doc == "guide.md"}
    assert shown >= GUIDE_PICTURES, f"docs/guide.md does not show {GUIDE_PICTURES - shown}"
