"""Benchmark data made by set-based SQL: accounts (some are branches of others) and contacts.

    python -m bench.generate --accounts 100000 --contacts 300000

fills the database named by DATABASE_URL, or the embedded one in ACCOUNTFLOW_DATA_DIR.
Other benchmarks reuse `generate_accounts` and add their own tables on top.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app import db
from app.models.accounts import AccountSource, BuyingRole
from app.settings import Settings


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


LAST = _words(
    "Albers Brandt Classen Dietz Ebert Fuchs Graf Hahn Imhof Jansen Keller Lange Maier "
    "Neumann Otto Peters Quast Richter Schulz Thiel Ulrich Vogel Weber Zimmer Berg Krause "
    "Hoffmann Schmitt Wagner Becker Koch Bauer Wolf Schröder Hartmann Lorenz Kühn Frank"
)
SUFFIX = _words(
    "Farms|Bau|Agrar|Landtechnik|Forst|Services|Holding|Logistik|Maschinen|Technik|Gartenbau|"
    "Hofgut|Lohnunternehmen|Kommunaltechnik|Baumaschinen|Handel",
    "|",
)
LEGAL = ("GmbH", "GmbH & Co. KG", "KG", "AG", "e.K.", "B.V.", "SA", "A/S", "sp. z o.o.")
INDUSTRIES = _words(
    "Agriculture Construction Forestry Landscaping Municipal Mining Dairy Viticulture "
    "Logistics Rental"
)
# Country, region and city move together so addresses look plausible.
PLACES = (
    ("DE", "BY", "Landshut"),
    ("DE", "BY", "Rosenheim"),
    ("DE", "NI", "Oldenburg"),
    ("DE", "NW", "Münster"),
    ("DE", "SH", "Husum"),
    ("DE", "BW", "Ulm"),
    ("DE", "MV", "Güstrow"),
    ("AT", "OÖ", "Wels"),
    ("AT", "NÖ", "Tulln"),
    ("CH", "BE", "Langenthal"),
    ("NL", "GE", "Arnhem"),
    ("NL", "FR", "Leeuwarden"),
    ("FR", "GES", "Reims"),
    ("DK", "MJ", "Herning"),
    ("PL", "WP", "Poznań"),
)
DIALS = {"DE": "+49", "AT": "+43", "CH": "+41", "NL": "+31", "FR": "+33", "DK": "+45", "PL": "+48"}
FIRST = _words(
    "Anna Ben Clara David Eva Felix Greta Hugo Ida Jonas Karin Lukas Marie Nils Olga Paul "
    "Rosa Sven Tina Uwe Vera Willem Zoe Jan Lea Finn Mia Tom Nora Erik"
)
TITLES = (
    "Owner",
    "Managing Director",
    "Purchasing Manager",
    "Fleet Manager",
    "Workshop Manager",
    "Farm Manager",
    "Accountant",
    "Operations Lead",
)
# Weights in percent; None is an account without classification.
CLASSIFICATIONS = (("A", 10), ("B", 25), ("C", 40), ("D", 20), (None, 5))
ROLES = tuple(role.value for role in BuyingRole)
TABLES = ("accounts", "contacts")
SOURCES = tuple(source.value for source in AccountSource)


@dataclasses.dataclass(frozen=True, slots=True)
class Generated:
    accounts: int
    branches: int
    contacts: int
    seconds: float


def _pick(array: str) -> str:
    """SQL for a uniformly random element of a text[] parameter."""
    return f"{_arr(array)}[1 + floor(random() * cardinality({_arr(array)}))::int]"


def _arr(name: str) -> str:
    return f"(CAST(:{name} AS text[]))"


def _classification() -> str:
    cases, low = [], 0
    for value, weight in CLASSIFICATIONS:
        low += weight
        cases.append(f"WHEN r < {low / 100} THEN {'NULL' if value is None else repr(value)}")
    return "CASE " + " ".join(cases) + " END"


_ACCOUNT_COLUMNS = (
    "name, classification, industry, source, street, city, region, postal_code, country_code, "
    "phone, email, website, external_ref, attributes, parent_id"
)

# One row per generated number g, with a random place p and classification draw r.
_HEADS = f"""
INSERT INTO accounts ({_ACCOUNT_COLUMNS})
SELECT
    {_pick("last")} || ' ' || {_pick("suffix")} || ' ' || {_pick("legal")},
    {_classification()},
    {_pick("industries")},
    {_pick("sources")},
    'Industriestraße ' || (1 + g % 180),
    {_arr("cities")}[p], {_arr("regions")}[p], lpad((10000 + (g * 7919) % 89999)::text, 5, '0'),
    {_arr("countries")}[p],
    {_arr("dials")}[p] || ' ' || (100 + g % 900) || ' ' || (100000 + (g * 104729) % 899999),
    'info' || g || '@' || :prefix || '.example.com',
    CASE WHEN r < 0.7 THEN 'https://www.' || :prefix || '-' || g || '.example.com' END,
    :prefix || '-' || g,
    jsonb_build_object('employees', 5 + floor(r * 500)::int),
    NULL
FROM (
    SELECT g, random() AS r, 1 + floor(random() * cardinality({_arr("cities")}))::int AS p
    FROM generate_series(1, CAST(:heads AS bigint)) AS g
) AS draws
"""

# Branches copy their parent's industry, source and website and carry its name plus a city.
_BRANCHES = f"""
INSERT INTO accounts ({_ACCOUNT_COLUMNS})
SELECT
    left(h.name || ' - ' || {_arr("cities")}[p], 200),
    {_classification()},
    h.industry, h.source,
    'Gewerbepark ' || (1 + b.g % 60),
    {_arr("cities")}[p], {_arr("regions")}[p], lpad((10000 + (b.g * 6113) % 89999)::text, 5, '0'),
    {_arr("countries")}[p],
    h.phone || '-' || (10 + b.g % 90),
    'branch' || b.g || '@' || :prefix || '.example.com',
    h.website,
    :prefix || '-b' || b.g,
    '{{}}'::jsonb,
    h.id
FROM (
    SELECT g, random() AS r, 1 + floor(random() * cardinality({_arr("cities")}))::int AS p,
           1 + floor(random() * CAST(:heads AS int))::int AS head
    FROM generate_series(1, CAST(:branches AS bigint)) AS g
) AS b
JOIN accounts h ON h.external_ref = :prefix || '-' || b.head
"""

_NUMBERED = """
CREATE TEMP TABLE bench_generated ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM accounts
WHERE external_ref LIKE :prefix || '-%'
"""

# Each contact lands on a random generated account (about `contacts / accounts` each, some none).
_CONTACTS = f"""
INSERT INTO contacts (account_id, name, title, email, phone, buying_role)
SELECT
    a.id,
    first_name || ' ' || last_name,
    {_pick("titles")},
    lower(first_name) || '.' || lower(last_name) || c.g || '@' || :prefix || '.example.com',
    '+49 170 ' || (1000000 + (c.g * 7907) % 8999999),
    CASE WHEN c.r < 0.85
        THEN {_arr("roles")}[1 + floor(c.r / 0.85 * cardinality({_arr("roles")}))::int]
    END
FROM (
    SELECT g, random() AS r, 1 + floor(random() * CAST(:accounts AS int))::bigint AS n,
           {_pick("first")} AS first_name, {_pick("last")} AS last_name
    FROM generate_series(1, CAST(:contacts AS bigint)) AS g
) AS c
JOIN bench_generated a ON a.n = c.n
"""


def _parameters(prefix: str) -> dict[str, Any]:
    return {
        "prefix": prefix,
        "last": list(LAST),
        "suffix": list(SUFFIX),
        "legal": list(LEGAL),
        "industries": list(INDUSTRIES),
        "sources": list(SOURCES),
        "countries": [p[0] for p in PLACES],
        "regions": [p[1] for p in PLACES],
        "cities": [p[2] for p in PLACES],
        "dials": [DIALS[p[0]] for p in PLACES],
        "first": list(FIRST),
        "titles": list(TITLES),
        "roles": list(ROLES),
    }


def _used(sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Only the parameters a statement names (asyncpg refuses unused ones)."""
    return {k: v for k, v in params.items() if f":{k}" in sql}


async def generate_accounts(
    conn: AsyncConnection | AsyncSession,
    *,
    accounts: int = 100_000,
    contacts: int = 300_000,
    branch_share: float = 0.2,
    seed: int = 42,
    prefix: str | None = None,
) -> Generated:
    """Insert `accounts` accounts (a `branch_share` of them branches) and `contacts` contacts.

    Runs inside the caller's transaction and does not commit (then `vacuum_analyze`).
    Generated accounts carry `external_ref` '<prefix>-<n>' (default prefix 'gen<seed>'),
    so a second run with another seed adds to the data instead of colliding.
    """
    started = time.perf_counter()
    prefix = prefix or f"gen{seed}"
    branches = round(accounts * branch_share)
    heads = accounts - branches
    params = _parameters(prefix) | {
        "heads": heads,
        "branches": branches,
        "accounts": accounts,
        "contacts": contacts,
    }
    await conn.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    for sql in (_HEADS, _BRANCHES, _NUMBERED, _CONTACTS):
        await conn.execute(text(sql), _used(sql, params))
    return Generated(accounts, branches, contacts, round(time.perf_counter() - started, 2))


async def vacuum_analyze(engine: AsyncEngine, tables: Sequence[str] = TABLES) -> None:
    """Fresh statistics and visibility map after a bulk load (counts can use the index alone).

    VACUUM cannot run in a transaction: call it after the generating one committed.
    """
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in tables:
            await conn.execute(text(f"VACUUM ANALYZE {table}"))


async def _run(url: str, accounts: int, contacts: int, seed: int) -> Generated:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            made = await generate_accounts(conn, accounts=accounts, contacts=contacts, seed=seed)
        await vacuum_analyze(engine)
        return made
    finally:
        await engine.dispose()


def database_url() -> str:
    """DATABASE_URL, else the embedded server in ACCOUNTFLOW_DATA_DIR, migrated to head."""
    from app.__main__ import migrate

    url = db.resolve_database_url(Settings.from_env())
    migrate(url)
    return url


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    result = asyncio.run(_run(database_url(), args.accounts, args.contacts, args.seed))
    print(json.dumps(dataclasses.asdict(result)))


if __name__ == "__main__":
    main()
