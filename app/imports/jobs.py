"""Import jobs: created by startImport, run in the background after the request commits.

Progress and row errors are written by their own short transactions, so they can be
polled while the import's data transaction is still open.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import events
from app.db import create_sessionmaker, rows_by_id
from app.errors import InvalidInputError
from app.imports.runner import Progress, run_import
from app.kit import changes
from app.kit.actor import Actor
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.models.imports import ImportJob, ImportKind, ImportMode, ImportRowError, ImportStatus

log = logging.getLogger(__name__)

_TASKS: set[asyncio.Task[None]] = set()


def check_mapping(mapping: Any) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise InvalidInputError(
            "mapping is a JSON object from CSV column to field name.", field="mapping"
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
    data_dir: Path,
) -> ImportJob:
    """A queued job owning the uploaded file (moved into the data directory)."""
    clean = check_mapping(mapping)
    folder = data_dir / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    shutil.move(upload, path)
    job = ImportJob(
        kind=kind,
        mode=mode,
        dry_run=dry_run,
        mapping=clean,
        file_path=str(path),
        created_by_id=actor.user_id,
    )
    session.add(job)
    await session.flush()
    await session.refresh(job)
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


def start(engine: AsyncEngine, job_id: int, actor: Actor) -> None:
    """Run the job in this process's event loop (after the creating transaction commits)."""
    task = asyncio.get_running_loop().create_task(run_job(engine, job_id, actor))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


async def wait_for_jobs() -> None:
    """Until every job started by this process has finished (tests, shutdown)."""
    while _TASKS:
        await asyncio.gather(*list(_TASKS), return_exceptions=True)


async def run_job(engine: AsyncEngine, job_id: int, actor: Actor) -> None:
    sessions = create_sessionmaker(engine)
    async with sessions() as status:
        job = await status.get(ImportJob, job_id)
        assert job is not None
        await status.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(status=ImportStatus.RUNNING, started_at=func.now())
        )
        await status.commit()

        async def report(progress: Progress) -> None:
            await _save_progress(status, job_id, progress)

        path = Path(job.file_path)
        try:
            async with sessions() as data:
                final = await run_import(
                    data,
                    actor=actor,
                    kind=job.kind,
                    path=path,
                    mapping=job.mapping,
                    mode=job.mode,
                    dry_run=job.dry_run,
                    report=report,
                )
            outcome = ImportStatus.FAILED if final.failed else ImportStatus.SUCCEEDED
            values: dict[str, Any] = {"status": outcome, "total_rows": final.total_rows}
        except Exception as error:
            log.exception("import job %s failed", job_id)
            values = {"status": ImportStatus.FAILED, "failure": type(error).__name__}
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        await status.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(finished_at=func.now(), **values)
        )
        finished = {
            "id": events.global_id("ImportJob", job_id),
            "kind": job.kind.value,
            "status": values["status"].value,
            "totalRows": values.get("total_rows"),
            "dryRun": job.dry_run,
        }
        kind, key = events.EventType.IMPORT_FINISHED, f"ImportJob:{job_id}"
        audit = changes.Audit("import.finish", "ImportJob", job_id, dict(finished))
        event = events.Event(kind, finished, object_key=key)
        await changes.record(status, actor=actor, audit=audit, events=event)
        await status.commit()


async def _save_progress(session: AsyncSession, job_id: int, progress: Progress) -> None:
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(
            total_rows=progress.total_rows,
            processed_rows=progress.processed_rows,
            created_count=progress.created,
            updated_count=progress.updated,
            rejected_count=progress.rejected,
        )
    )
    if progress.errors:
        await session.execute(
            insert(ImportRowError),
            [
                {
                    "job_id": job_id,
                    "row": e.row,
                    "column": e.column,
                    "code": e.code,
                    "message": e.message[:2000],
                }
                for e in progress.errors
            ],
        )
    await session.commit()


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
