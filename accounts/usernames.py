"""Usernames that look like another: one script per name, and no non-Latin name made only of
letters that look Latin (Cyrillic "\u0455\u0430" next to "sa"). Unicode TR39 in a small form:
the names of Unicode characters say their script, and a short table lists the look-alikes."""

from __future__ import annotations

import unicodedata

# Cyrillic and Greek letters that render like Latin ones in common fonts (Unicode's
# confusables.txt, the letters an attacker reaches for first).
LATIN_LOOKALIKES = frozenset(
    "аеорсухіјѕԁһӏԛԝꙇӕәɡАВЕКМНОРСТХІЈЅԌԚԜҮӀ"  # Cyrillic
    "ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαοικνρτυχϲϳ"  # Greek
)


def _script(char: str) -> str | None:
    """The script of a letter ("LATIN", "CYRILLIC", ...); None for digits and punctuation."""
    if not char.isalpha():
        return None
    return unicodedata.name(char, "UNKNOWN").split(" ")[0]


def username_problem(username: str) -> str | None:
    """Why `username` could pass for another user's name, or None when it cannot."""
    letters = [char for char in unicodedata.normalize("NFC", username) if char.isalpha()]
    scripts = {_script(char) for char in letters}
    if len(scripts) > 1:
        return (
            "Use letters of one script only (this name mixes "
            + ", ".join(sorted(script.title() for script in scripts if script))
            + ")."
        )
    if letters and scripts != {"LATIN"} and all(char in LATIN_LOOKALIKES for char in letters):
        return "This name looks like a Latin one; choose a name that does not."
    return None
