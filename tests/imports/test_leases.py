"""The claim on an import job: a runner that lost it writes nothing; no job is retried for
ever."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.imports import jobs
from app.imports.execution import MAX_ATTEMPTS, execute
from app.imports.leases import Claim, claim
from app.kit.actor import SYSTEM
from app.models.imports import ImportJob, ImportKind, ImportMode
from app.settings import ImportJobs, Settings, SettingsError
from tests.imports.blocking import count, numbered_accounts


async def _queued(session: AsyncSession, folder: Path, mode: ImportMode) -> int:
    upload = folder / "upload.csv"
    upload.write_bytes(numbered_accounts(20))
    job = await jobs.create_job(
        session,
        actor=SYSTEM,
        kind=ImportKind.ACCOUNTS,
        mode=mode,
        dry_run=False,
        mapping=None,
        upload=upload,
    )
    await session.commit()
    return job.id


async def _claim(engine: AsyncEngine, worker: str, lease: timedelta) -> Claim:
    async with db.create_sessionmaker(engine)() as session:
        claimed = await claim(session, worker=worker, lease=lease)
    assert claimed is not None
    return claimed


@pytest.mark.parametrize("mode", [ImportMode.SKIP_INVALID, ImportMode.ALL_OR_NOTHING])
async def test_a_runner_whose_lease_was_taken_over_writes_nothing(
    engine: AsyncEngine, session: AsyncSession, tmp_path: Path, mode: ImportMode
) -> None:
    await _queued(session, tmp_path, mode)
    stale = await _claim(engine, "first", timedelta(milliseconds=1))
    await asyncio.sleep(0.05)  # its lease ran out (the process stalled)
    await _claim(engine, "second", timedelta(minutes=5))
    sessions = db.create_sessionmaker(engine)
    await execute(sessions, stale, folder=tmp_path, lease=timedelta(minutes=5))
    assert await count(engine, "SELECT count(*) FROM accounts") == 0
    state = "SELECT attempts FROM import_jobs WHERE status = 'RUNNING' AND claimed_by = 'second'"
    assert await count(engine, state) == 2
    assert await count(engine, "SELECT count(*) FROM outbox WHERE type = 'import.finished'") == 0


async def test_a_job_claimed_once_too_often_fails_instead_of_running(
    engine: AsyncEngine, session: AsyncSession, tmp_path: Path
) -> None:
    job_id = await _queued(session, tmp_path, ImportMode.SKIP_INVALID)
    await session.execute(update(ImportJob).values(attempts=MAX_ATTEMPTS))
    await session.commit()
    claimed = await _claim(engine, "last", timedelta(minutes=5))
    sessions = db.create_sessionmaker(engine)
    await execute(sessions, claimed, folder=tmp_path, lease=timedelta(minutes=5))
    async with engine.connect() as connection:
        query = text("SELECT status, failure, attempts FROM import_jobs WHERE id = :id")
        row = (await connection.execute(query, {"id": job_id})).one()
    assert tuple(row) == ("FAILED", "TooManyAttempts", MAX_ATTEMPTS + 1)
    assert await count(engine, "SELECT count(*) FROM accounts") == 0
    assert await count(engine, "SELECT count(*) FROM import_upload_chunks") == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ACCOUNTFLOW_IMPORT_LEASE_SECONDS", "0"),
        ("ACCOUNTFLOW_IMPORT_CONCURRENCY", "0"),
        ("ACCOUNTFLOW_IMPORT_POLL_SECONDS", "soon"),
        ("ACCOUNTFLOW_DB_TIMEOUTS_PER", "statement"),
        ("ACCOUNTFLOW_DB_STATEMENT_CACHE", "maybe"),
        ("DATABASE_DIRECT_URL", "postgresql://db/accountflow"),
        ("ACCOUNTFLOW_DAILY_UPKEEP_CHECK_SECONDS", "0"),
    ],
)
def test_bad_operations_settings_are_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_operations_settings_have_their_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.imports == ImportJobs(2, 60.0, 20.0, 5.0)
    assert (settings.pooler.timeouts_per, settings.pooler.statement_cache) == ("connection", True)
    assert (settings.direct_url, settings.daily.enabled, settings.daily.check_seconds) == (
        None,
        True,
        300.0,
    )
