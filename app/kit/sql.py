"""`.sql` files read from their package, so they load from a source checkout and a wheel alike.

A report or bulk statement lives in a `.sql` file next to the module that runs it: readable
as it is sent, and runnable under EXPLAIN as it stands. Callers pass their `__package__`.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from sqlalchemy import BindParameter, TextClause, text


def read_sql(package: str, name: str) -> str:
    """The text of `name`, a `.sql` file inside `package` (a dotted package name)."""
    return files(package).joinpath(name).read_text(encoding="utf-8")


def sql_file(package: str, name: str, *params: BindParameter[Any]) -> TextClause:
    """The file as a statement, with the types of the parameters that need one declared."""
    statement = text(read_sql(package, name))
    return statement.bindparams(*params) if params else statement


# For this transaction only: plans fit the actual range (asyncpg prepares statements, and a
# generic plan for an unknown range is seconds slower), sorts stay in memory, covering
# indexes beat heap scans (index-only reads are cheap on SSD or in memory), and no parallel
# workers, which on a small shared machine only add contention.
REPORT_SETTINGS = sql_file(__package__, "report_settings.sql")
