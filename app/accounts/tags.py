"""Account tags: trimmed, lower case, distinct, at most 50 per account, 40 characters each."""

from __future__ import annotations

from collections.abc import Iterable

from app.kit.validation import Checks

MAX_TAGS = 50
MAX_TAG_LENGTH = 40


def normalise(checks: Checks, field: str, tags: Iterable[str]) -> list[str]:
    """The tags cleaned and deduplicated (case-insensitively), first occurrence first."""
    clean: list[str] = []
    for raw in tags:
        tag = raw.strip().lower()
        if not tag:
            checks.fail(field, "A tag must not be empty.")
        elif len(tag) > MAX_TAG_LENGTH:
            checks.fail(field, f"A tag must be at most {MAX_TAG_LENGTH} characters.")
        elif tag not in clean:
            clean.append(tag)
    return clean


def check_count(checks: Checks, field: str, tags: list[str]) -> None:
    if len(tags) > MAX_TAGS:
        checks.fail(field, f"An account has at most {MAX_TAGS} tags.")
