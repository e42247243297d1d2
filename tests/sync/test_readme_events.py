"""The README's event table names every event type, each once."""

from __future__ import annotations

import re
from pathlib import Path

from app.events import EventType

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_event_table_lists_every_type() -> None:
    text = README.read_text()
    table = text[text.index("| type | sent when | `data` |") :].split("\n\n")[0]
    named = [
        name
        for row in table.splitlines()[2:]
        for name in re.findall(r"`([a-z_]+\.[a-z_]+)`", row.split("|")[1])
    ]
    assert sorted(named) == sorted(e.value for e in EventType)
