"""CSV cells a spreadsheet will not run: OWASP's rule against CSV (formula) injection.

A spreadsheet runs a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return as
a formula (`=HYPERLINK(…)`, DDE). Such a cell is written with a leading apostrophe, which
spreadsheets show as text; a plain number (`-5`, `+1.5e3`) is no formula and stays a
number. So that the importer can undo it exactly (`restore`), a cell of apostrophes before
such a start gets one more: `'=1` is written `''=1` and read back as `'=1`.

`neutralise` is the rule for Python values (report CSVs); `neutralised` the same rule in
SQL, for exports whose cells PostgreSQL makes (tests/kit/test_csv_cells.py holds them equal).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal

STARTS = "=+-@\t\r"
_NUMBER = r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)


def _quoted(value: str) -> bool:
    """Whether `value` is written with one apostrophe more than it holds."""
    rest = value.lstrip("'")
    return rest != "" and rest[0] in STARTS and _NUMBER_RE.fullmatch(rest) is None


def neutralise(value: str) -> str:
    return "'" + value if _quoted(value) else value


def restore(value: str) -> str:
    """A cell as the importer reads it: the apostrophe `neutralise` added, taken off."""
    return value[1:] if value[:1] == "'" and _quoted(value) else value


def neutralised(cell: ColumnElement[Any]) -> ColumnElement[Any]:
    """`neutralise` in SQL, for a text cell that is never NULL."""
    rest = func.ltrim(cell, literal("'"))
    # CASE rather than AND: only a cell starting so meets the regular expression.
    return case(
        (func.left(rest, 1).not_in(list(STARTS)), cell),
        (rest.regexp_match(f"^{_NUMBER}$"), cell),
        else_=literal("'") + cell,
    )
