"""app.kit.csv_cells: OWASP's rule, undone exactly by the importer, the same in SQL."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.csv_cells import neutralise, neutralised, restore

CASES = [
    ("=1+1", "'=1+1"),
    ("+49 30 1234", "'+49 30 1234"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("'=1", "''=1"),
    ("''+x", "'''+x"),
    ("-5", "-5"),
    ("+1.5e3", "+1.5e3"),
    ("-.5", "-.5"),
    ("-", "'-"),
    ("-5 ", "'-5 "),
    ("5\n", "5\n"),
    ("'s-Hertogenbosch", "'s-Hertogenbosch"),
    ("'", "'"),
    ("''", "''"),
    ("'-5", "'-5"),
    ("", ""),
    ("Acme", "Acme"),
    (" =1", " =1"),
]


@pytest.mark.parametrize(("stored", "written"), CASES)
def test_neutralise_and_restore(stored: str, written: str) -> None:
    assert neutralise(stored) == written
    assert restore(written) == stored


def test_a_cell_from_elsewhere_is_read_as_a_spreadsheet_shows_it() -> None:
    assert restore("'=1") == "=1"
    assert restore("=1") == "=1"


async def test_the_sql_twin_gives_the_same_cells(session: AsyncSession) -> None:
    stored = [s for s, _ in CASES]
    cells = [neutralised(literal(s)).label(f"c{n}") for n, s in enumerate(stored)]
    row = (await session.execute(select(*cells))).one()
    assert list(row) == [w for _, w in CASES]
