"""Import jobs: created by startImport with the upload kept in the database, then run by
any server process's worker (app.imports.worker) and polled by the client."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.db import rows_by_id
from app.errors import InvalidInputError
from app.imports import uploads
from app.imports.leases import actor_data
from app.imports.worker import wait_for_jobs, wake
from app.kit import changes
from app.kit.actor import Actor
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.models.imports import ImportJob, ImportKind, ImportMode, ImportRowError

__all__ = ["create_job", "wait_for_jobs", "wake"]


def check_mapping(mapping: Any) -> dict[str, str | None]:
    """A mapping from CSV column to field name, or to null to skip the column."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items()
    ):
        raise InvalidInputError(
            "mapping is a JSON object from CSV column to field name (or null: skip it).",
            field="mapping",
        )
    return mapping


async def create_job(
    session: AsyncSession,
    *,
    actor: Actor,
    kind: ImportKind,
    mode: ImportMode,
    dry_run: bool,
    mapping: Any,
    upload: Path,
    ignore_unknown_columns: bool = False,
) -> ImportJob:
    """A queued job, its file stored with it (any server process may run it)."""
    clean = check_mapping(mapping)
    job = ImportJob(
        kind=kind,
        mode=mode,
        dry_run=dry_run,
        mapping=clean,
        ignore_unknown_columns=ignore_unknown_columns,
        created_by_id=actor.user_id,
        actor=actor_data(actor),
    )
    session.add(job)
    await session.flush()
    await session.refresh(job)
    await uploads.keep(session, job.id, upload)
    values = {"kind": kind.value, "mode": mode.value, "dryRun": dry_run}
    data = {"id": events.global_id("ImportJob", job.id), **values}
    key = f"ImportJob:{job.id}"
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("import.start", "ImportJob", job.id, changes.created(values)),
        events=events.Event(events.EventType.IMPORT_STARTED, data, object_key=key),
    )
    return job


jobs_by_id = rows_by_id(ImportJob)


async def row_error_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs]]
) -> list[tuple[Page[ImportRowError], int]]:
    return await partitioned_pages(
        session, ImportRowError, partition="job_id", order=("id",), keys=keys
    )


async def job_row_errors(session: AsyncSession, job_id: int) -> list[ImportRowError]:
    query = (
        select(ImportRowError).where(ImportRowError.job_id == job_id).order_by(ImportRowError.id)
    )
    return list(await session.scalars(query))
