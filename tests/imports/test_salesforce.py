"""A Salesforce account export imported as a new user would: its own column names through a
mapping, country names and alpha-3 codes, columns we have no field for, branches by
"Parent Account ID", multi-line quoted streets and accents (tests/imports/data)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.imports.jobs import wait_for_jobs
from app.imports.runner import Progress, run_import
from app.kit.actor import SYSTEM
from app.models.accounts import Account
from app.models.auth import Role
from app.models.imports import ImportKind
from tests.support import Api, Caller, contract_operations

DATA = Path(__file__).parent / "data"
EXPORT = DATA / "salesforce_accounts.csv"
ROOT = Path(__file__).resolve().parents[2]
UNNAMED = ("Type", "Account Source")  # no field of ours: the mapping leaves them out
SKIP = dict.fromkeys(UNNAMED)  # mapped to null

# Known answers: Account ID -> (country code, parent's Account ID).
COUNTRIES_AND_PARENTS = {
    "0015g00000HqA01AAF": ("DE", None),  # "Germany"
    "0015g00000HqA02AAF": ("DE", "0015g00000HqA01AAF"),  # "DEU"
    "0015g00000HqA03AAF": ("DE", "0015g00000HqA01AAF"),  # "de"
    "0015g00000HqA04AAF": ("FR", None),  # "France"
    "0015g00000HqA05AAF": ("FR", "0015g00000HqA04AAF"),  # "FRA", listed before its parent
    "0015g00000HqA06AAF": ("AT", None),
    "0015g00000HqA07AAF": ("SE", None),
    "0015g00000HqA08AAF": ("CZ", None),  # "Czechia"
    "0015g00000HqA09AAF": ("CH", None),  # "switzerland"
    "0015g00000HqA10AAF": ("AT", "0015g00000HqA06AAF"),  # "AUT"
    "0015g00000HqA11AAF": ("NL", None),
    "0015g00000HqA12AAF": ("IE", None),
    "0015g00000HqA13AAF": ("DE", "0015g00000HqA02AAF"),  # a branch of a branch
    "0015g00000HqA14AAF": ("PL", None),
}
# Account ID -> (name, street, city, region, postal code)
ADDRESSES = {
    "0015g00000HqA02AAF": (
        "Müller Landtechnik GmbH \N{EN DASH} Filiale Augsburg",
        "Königsplatz 3\nHinterhaus, 2. OG",
        "Augsburg",
        "Bayern",
        "86150",
    ),
    "0015g00000HqA05AAF": (
        "Société d'Équipement Agricole \N{EN DASH} Agence de Lyon",
        "12, rue de la République\nBâtiment B",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        "69002",
    ),
    "0015g00000HqA08AAF": (
        "Český Traktor s.r.o.",
        "Náměstí Míru 10",
        "Brno",
        "Jihomoravský kraj",
        "602 00",
    ),
    "0015g00000HqA09AAF": (
        "Zürcher Agrartechnik AG",
        "Bahnhofstrasse 21\nPostfach 1234",
        "Zürich",
        "ZH",
        "8001",
    ),
}


def _mapping(**extra: str | None) -> dict[str, str | None]:
    mapping: dict[str, str | None] = json.loads((DATA / "salesforce_mapping.json").read_text())
    return mapping | extra


async def _import(session: AsyncSession, path: Path, **kw: Any) -> Progress:
    errors = []

    async def report(progress: Progress) -> None:
        errors.extend(progress.errors)

    result = await run_import(
        session, actor=SYSTEM, kind=ImportKind.ACCOUNTS, path=path, report=report, **kw
    )
    result.errors = errors
    return result


def _codes(progress: Progress) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.column, e.code) for e in progress.errors]


async def _imported(session: AsyncSession) -> dict[str | None, tuple[str | None, str | None]]:
    parent = aliased(Account)
    query = select(Account.external_ref, Account.country_code, parent.external_ref).outerjoin(
        parent, parent.id == Account.parent_id
    )
    return {ref: (country, parent_ref) for ref, country, parent_ref in await session.execute(query)}


async def _addresses(session: AsyncSession) -> dict[str | None, tuple[Any, ...]]:
    columns = (Account.name, Account.street, Account.city, Account.region, Account.postal_code)
    query = select(Account.external_ref, *columns).where(Account.external_ref.in_(ADDRESSES))
    return {row[0]: tuple(row[1:]) for row in await session.execute(query)}


async def _assert_known_answers(session: AsyncSession) -> None:
    assert await _imported(session) == COUNTRIES_AND_PARENTS
    assert await _addresses(session) == ADDRESSES


async def test_the_export_with_its_mapping_is_refused_only_for_the_unnamed_columns(
    session: AsyncSession,
) -> None:
    result = await _import(session, EXPORT, mapping=_mapping())
    assert result.failed
    assert _codes(result) == [
        (1, "Type", "UNKNOWN_COLUMN"),
        (1, "Account Source", "UNKNOWN_COLUMN"),
    ]
    assert result.created == 0
    assert await _imported(session) == {}


async def test_columns_mapped_to_null_are_skipped_and_the_export_imports(
    session: AsyncSession,
) -> None:
    result = await _import(session, EXPORT, mapping=_mapping(**SKIP))
    assert _codes(result) == []
    assert (result.failed, result.created, result.rejected) == (False, 14, 0)
    await _assert_known_answers(session)


async def test_ignoring_unknown_columns_gives_one_notice(session: AsyncSession) -> None:
    result = await _import(session, EXPORT, mapping=_mapping(), ignore_unknown_columns=True)
    assert (result.failed, result.created, result.rejected) == (False, 14, 0)
    [notice] = result.errors
    assert (notice.row, notice.column, notice.code) == (1, None, "COLUMNS_SKIPPED")
    assert (
        notice.message == "Skipped 2 column(s) the mapping does not name: 'Type', 'Account Source'."
    )
    await _assert_known_answers(session)


async def test_a_column_mapped_to_no_field_stays_an_error_with_the_flag(
    session: AsyncSession,
) -> None:
    mapping = _mapping(Type="accountType")
    result = await _import(session, EXPORT, mapping=mapping, ignore_unknown_columns=True)
    assert result.failed
    assert _codes(result) == [(1, "Type", "UNKNOWN_COLUMN"), (1, None, "COLUMNS_SKIPPED")]
    assert await _imported(session) == {}


def _rewritten(tmp_path: Path, *, drop: tuple[str, ...], country: dict[str, str]) -> Path:
    """The export as a user fixes it by hand: columns removed, country cells replaced."""
    rows = list(csv.DictReader(io.StringIO(EXPORT.read_text(encoding="utf-8-sig"))))
    names = [n for n in rows[0] if n not in drop]
    out = io.StringIO()
    writer = csv.DictWriter(out, names, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        row["Billing Country"] = country.get(row["Billing Country"], row["Billing Country"])
        writer.writerow({n: row[n] for n in names})
    path = tmp_path / "fixed.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


async def test_the_export_fixed_by_hand_still_imports(
    session: AsyncSession, tmp_path: Path
) -> None:
    codes = {v: c for v, (c, _) in zip(_countries(), COUNTRIES_AND_PARENTS.values(), strict=True)}
    path = _rewritten(tmp_path, drop=UNNAMED, country=codes)
    result = await _import(session, path, mapping=_mapping())
    assert (result.failed, result.created, result.rejected) == (False, 14, 0)
    await _assert_known_answers(session)


def _countries() -> list[str]:
    rows = csv.DictReader(io.StringIO(EXPORT.read_text(encoding="utf-8-sig")))
    return [row["Billing Country"] for row in rows]


async def test_an_unknown_country_is_the_row_error_it_was(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = _rewritten(tmp_path, drop=UNNAMED, country={"Sweden": "Narnia", "Poland": "UK"})
    result = await _import(session, path, mapping=_mapping())
    assert result.failed
    assert _codes(result) == [
        (8, "countryCode", "INVALID_INPUT"),
        (15, "countryCode", "INVALID_INPUT"),
    ]
    assert await _imported(session) == {}


async def test_the_cli_flag_skips_unknown_columns_with_one_warning(
    database_url: str, session: AsyncSession
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "import",
        "accounts",
        str(EXPORT),
        "--mapping",
        str(DATA / "salesforce_mapping.json"),
        "--ignore-unknown-columns",
        env=os.environ | {"DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    err = stderr.decode()
    assert process.returncode == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: Skipped 2 column(s) the mapping does not name: 'Type', 'Account Source'."
    ]
    assert not [line for line in err.splitlines() if line.startswith("row ")]
    assert "done: 14 created, 0 updated, 0 unchanged, 0 rejected" in err
    await _assert_known_answers(session)


async def _start(client: httpx.AsyncClient, caller: Caller, **input: object) -> str:
    operations = {
        "query": contract_operations()["StartImport"],
        "variables": {"input": {"kind": "ACCOUNTS", "file": None, **input}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("accounts.csv", EXPORT.read_bytes(), "text/csv")},
        headers={"Authorization": f"Bearer {caller.token}"},
    )
    started = response.json()["data"]["startImport"]
    assert started["errors"] == []
    job_id: str = started["job"]["id"]
    return job_id


UPLOADS = [
    ({"mapping": _mapping(**SKIP)}, []),
    ({"mapping": _mapping(), "ignoreUnknownColumns": True}, [(1, None, "COLUMNS_SKIPPED")]),
]


@pytest.mark.parametrize(("input", "notices"), UPLOADS, ids=["null-mapping", "flag"])
async def test_an_upload_skips_columns_as_asked(
    api: Api, input: dict[str, Any], notices: list[tuple[int, None, str]]
) -> None:
    manager = await api.caller(Role.MANAGER)
    job_id = await _start(api.client, manager, **input)
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
    assert (job["status"], job["createdCount"], job["rejectedCount"]) == ("SUCCEEDED", 14, 0)
    found = [
        (e["node"]["row"], e["node"]["column"], e["node"]["code"])
        for e in job["rowErrors"]["edges"]
    ]
    assert found == notices
    await _assert_known_answers(api.session)


async def test_an_upload_without_either_is_refused(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    job_id = await _start(api.client, manager, mapping=_mapping())
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
    assert (job["status"], job["createdCount"]) == ("FAILED", 0)
    found = [
        (e["node"]["row"], e["node"]["column"], e["node"]["code"])
        for e in job["rowErrors"]["edges"]
    ]
    assert found == [(1, "Type", "UNKNOWN_COLUMN"), (1, "Account Source", "UNKNOWN_COLUMN")]
    assert await _imported(api.session) == {}
