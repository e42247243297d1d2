"""The import runner on a real database: modes, dry run, every kind of bad row, round trip."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.imports.export import export_query, stream_csv
from app.imports.runner import Progress, run_import
from app.kit.actor import SYSTEM
from app.models.accounts import Account
from app.models.handoff import PipelineEntry
from app.models.imports import ImportKind, ImportMode
from tests.imports.files import GOOD_REFS, accounts_file, expected_errors


async def _import(
    session: AsyncSession, path: Path, mode: ImportMode, *, dry_run: bool = False, **kw: object
) -> Progress:
    seen: list[Progress] = []
    errors = []

    async def report(progress: Progress) -> None:
        errors.extend(progress.errors)
        seen.append(progress)

    result = await run_import(
        session,
        actor=SYSTEM,
        kind=ImportKind.ACCOUNTS,
        path=path,
        mode=mode,
        dry_run=dry_run,
        report=report,
        **kw,  # type: ignore[arg-type]
    )
    result.errors = errors
    return result


async def _refs(session: AsyncSession) -> list[str | None]:
    return sorted(await session.scalars(select(Account.external_ref)), key=str)


def _codes(progress: Progress) -> list[tuple[int, str | None, str]]:
    return [(e.row, e.column, e.code) for e in progress.errors]


async def test_all_or_nothing_writes_nothing_and_names_every_bad_row(
    session: AsyncSession, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(accounts_file())
    result = await _import(session, path, ImportMode.ALL_OR_NOTHING)
    assert result.failed
    assert _codes(result) == expected_errors()
    assert result.rejected == 9
    assert result.total_rows == 14
    assert await _refs(session) == []


async def test_skip_invalid_stores_the_good_rows(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(accounts_file())
    result = await _import(session, path, ImportMode.SKIP_INVALID)
    assert not result.failed
    assert (result.created, result.updated, result.rejected) == (5, 0, 9)
    assert _codes(result) == expected_errors()
    assert await _refs(session) == GOOD_REFS
    acme = await session.scalar(select(Account).where(Account.external_ref == "A-1"))
    assert acme is not None
    assert (acme.name, acme.classification, acme.country_code, acme.email) == (
        "Acme GmbH",
        "A",
        "DE",
        "info@acme.de",
    )
    assert acme.attributes == {"tier": 1}
    beta = await session.scalar(select(Account).where(Account.external_ref == "A-2"))
    assert beta is not None
    assert (beta.name, beta.city) == ("Beta\nFarms", "Linz; Upper")
    entries = await session.scalar(select(func.count()).select_from(PipelineEntry))
    assert entries == 5


async def test_dry_run_writes_nothing(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(accounts_file(bad=False))
    result = await _import(session, path, ImportMode.ALL_OR_NOTHING, dry_run=True)
    assert (result.failed, result.created, result.rejected) == (False, 5, 0)
    assert await _refs(session) == []


async def test_upsert_on_external_ref_and_mapping(session: AsyncSession, tmp_path: Path) -> None:
    first = tmp_path / "first.csv"
    first.write_bytes(accounts_file(bad=False, bom=False))
    assert (await _import(session, first, ImportMode.ALL_OR_NOTHING)).created == 5
    second = tmp_path / "second.csv"
    second.write_text(
        "Kundennummer,Firma,industry\nA-1,Acme GmbH,Farming\nA-3,Gamma AG,\nA-99,New,\n"
    )
    result = await _import(
        session,
        second,
        ImportMode.ALL_OR_NOTHING,
        mapping={"Kundennummer": "externalRef", "firma": "name"},
    )
    assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 1, 1, 0)
    gamma = await session.scalar(
        select(Account)
        .where(Account.external_ref == "A-3")
        .execution_options(populate_existing=True)
    )
    assert gamma is not None
    assert (gamma.name, gamma.version) == ("Gamma AG", 2)


async def test_unknown_and_missing_columns(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("externalRef,name,colour\nA-1,Acme,red\n")
    strict = await _import(session, path, ImportMode.ALL_OR_NOTHING)
    assert strict.failed
    assert _codes(strict) == [(1, "colour", "UNKNOWN_COLUMN")]
    assert await _refs(session) == []
    lenient = await _import(session, path, ImportMode.SKIP_INVALID)
    assert (lenient.failed, lenient.created) == (False, 1)
    missing = tmp_path / "b.csv"
    missing.write_text("externalRef\nA-2\n")
    result = await _import(session, missing, ImportMode.SKIP_INVALID)
    assert result.failed
    assert _codes(result) == [(1, "name", "MISSING_COLUMN")]


async def test_parents_by_external_ref_in_any_order(session: AsyncSession, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "externalRef,name,parentExternalRef\nB,Branch,H\nH,Head,\nC,Cycle,D\nD,Other,C\nE,Lost,NOPE\n"
    )
    result = await _import(session, path, ImportMode.SKIP_INVALID)
    assert result.created == 2
    assert sorted(_codes(result)) == [
        (4, "parentExternalRef", "INVALID_INPUT"),
        (5, "parentExternalRef", "NOT_FOUND"),  # its parent was refused first
        (6, "parentExternalRef", "NOT_FOUND"),
    ]
    head = await session.scalar(select(Account.id).where(Account.external_ref == "H"))
    branch = await session.scalar(select(Account.parent_id).where(Account.external_ref == "B"))
    assert branch == head


async def _export(engine: AsyncEngine, kind: ImportKind) -> bytes:
    chunks = [c async for c in stream_csv(engine, kind, export_query(kind, None))]
    return b"".join(chunks)


async def test_export_then_import_changes_nothing(
    engine: AsyncEngine, session: AsyncSession, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(accounts_file())
    await _import(session, path, ImportMode.SKIP_INVALID)
    exported = await _export(engine, ImportKind.ACCOUNTS)
    again = tmp_path / "again.csv"
    again.write_bytes(exported)
    result = await _import(session, again, ImportMode.ALL_OR_NOTHING)
    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 5, 0)
    assert await _export(engine, ImportKind.ACCOUNTS) == exported
    versions = set(await session.scalars(select(Account.version)))
    assert versions == {1}
