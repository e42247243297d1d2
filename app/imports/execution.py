"""One claimed import job, run to its end by whichever server process claimed it.

Progress and row errors of an all-or-nothing import (or a dry run) are written by short
transactions of their own, so they can be polled while the import's transaction is open; a
retaken job starts those over. A skip-invalid import records them in each batch's own
transaction (the runner's checkpoint), and a retaken one goes on after the last batch.
The end of a job that wrote rows commits with its last rows: a crash between the two
cannot make a second process write them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import events
from app.imports import uploads
from app.imports.leases import Claim, LeaseLostError, fenced, held, release, renew
from app.imports.runner import Progress, run_import
from app.kit import changes
from app.models.imports import ImportRowError, ImportStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a job that takes its process down every time is not retaken forever


def _counts(progress: Progress) -> dict[str, Any]:
    return {
        "total_rows": progress.total_rows,
        "processed_rows": progress.processed_rows,
        "created_count": progress.created,
        "updated_count": progress.updated,
        "rejected_count": progress.rejected,
    }


async def _insert_errors(session: AsyncSession, job_id: int, progress: Progress) -> None:
    if progress.errors:
        rows = [
            {"job_id": job_id, "row": e.row, "column": e.column, "code": e.code}
            | {"message": e.message[:2000]}
            for e in progress.errors
        ]
        await session.execute(insert(ImportRowError), rows)


class JobRun:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], claim: Claim, lease: timedelta
    ) -> None:
        self.sessions = sessions
        self.claim = claim
        self.lease = lease
        self._status = asyncio.Lock()  # one status transaction at a time per job
        self.path: Path | None = None  # the file, fetched from the database

    async def restart(self) -> None:
        """Forget what an earlier attempt reported (nothing of it was committed)."""
        async with self._status, self.sessions() as session:
            await held(session, fenced(self.claim).values(_counts(Progress())))
            job = ImportRowError.job_id == self.claim.id
            await session.execute(delete(ImportRowError).where(job))
            await session.commit()

    async def report(self, progress: Progress) -> None:
        async with self._status, self.sessions() as session:
            await held(session, fenced(self.claim).values(_counts(progress)))
            await _insert_errors(session, self.claim.id, progress)
            await session.commit()

    async def checkpoint(self, session: AsyncSession, progress: Progress, final: bool) -> None:
        """In the import's transaction: its progress, and its end when `final`."""
        values = _counts(progress)
        if final:
            values |= {"status": ImportStatus.SUCCEEDED, "finished_at": func.now()}
        await held(session, fenced(self.claim).values(values))
        await _insert_errors(session, self.claim.id, progress)
        if final:
            await self._finished(session, ImportStatus.SUCCEEDED, progress.total_rows)

    async def end(
        self, status: ImportStatus, total_rows: int | None, failure: str | None = None
    ) -> None:
        """The end of a job that commits no rows (failed, dry run), in its own transaction."""
        async with self._status, self.sessions() as session:
            values: dict[str, Any] = {"status": status, "finished_at": func.now()}
            if failure is not None:
                values["failure"] = failure
            await held(session, fenced(self.claim).values(values))
            await self._finished(session, status, total_rows)
            await session.commit()

    async def _finished(
        self, session: AsyncSession, status: ImportStatus, total_rows: int | None
    ) -> None:
        claim = self.claim
        finished = {
            "id": events.global_id("ImportJob", claim.id),
            "kind": claim.kind.value,
            "status": status.value,
            "totalRows": total_rows,
            "dryRun": claim.dry_run,
        }
        kind, key = events.EventType.IMPORT_FINISHED, f"ImportJob:{claim.id}"
        audit = changes.Audit("import.finish", "ImportJob", claim.id, dict(finished))
        event = events.Event(kind, finished, object_key=key)
        await changes.record(session, actor=claim.actor, audit=audit, events=event)
        await uploads.drop(session, claim.id)

    async def heartbeat(self) -> None:
        """Renew the lease every third of it until cancelled, or until another took it."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self._status, self.sessions() as session:
                    await renew(session, self.claim, self.lease)
            except LeaseLostError:
                log.warning("import job %s: lease lost to another server", self.claim.id)
                return
            except Exception:
                log.exception("import job %s: renewing the lease failed", self.claim.id)

    async def release(self) -> None:
        async with self.sessions() as session:
            await release(session, self.claim)

    async def complete(self, folder: Path) -> None:
        """Fetch the file and import it; the end of a run that commits no rows is recorded
        here, that of one that does with its last rows (checkpoint)."""
        async with self.sessions() as session:
            self.path = await uploads.fetch(session, self.claim.id, folder)
        final = await self.run(self.path)
        if final.failed or self.claim.dry_run:
            status = ImportStatus.FAILED if final.failed else ImportStatus.SUCCEEDED
            await self.end(status, final.total_rows)

    async def run(self, path: Path) -> Progress:
        claim = self.claim
        async with self.sessions() as data:
            return await run_import(
                data,
                actor=claim.actor,
                kind=claim.kind,
                path=path,
                mapping=claim.mapping,
                mode=claim.mode,
                dry_run=claim.dry_run,
                report=self.report,
                checkpoint=self.checkpoint,
                resume=claim.committed if claim.resumes else None,
                ignore_unknown_columns=claim.ignore_unknown_columns,
            )


@contextlib.asynccontextmanager
async def _beating(job: JobRun) -> AsyncIterator[None]:
    task = asyncio.create_task(job.heartbeat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def execute(
    sessions: async_sessionmaker[AsyncSession], claim: Claim, *, folder: Path, lease: timedelta
) -> None:
    """Run the claimed job to its end; cancelled (shutdown), leave it to be retaken."""
    job = JobRun(sessions, claim, lease)
    if claim.attempt > MAX_ATTEMPTS:
        await job.end(ImportStatus.FAILED, None, failure="TooManyAttempts")
        return
    if claim.attempt > 1 and not claim.resumes:
        await job.restart()
    try:
        async with _beating(job):
            await job.complete(folder)
    except LeaseLostError:
        log.warning("import job %s was taken over by another server; stopped", claim.id)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await job.release()
        raise
    except Exception as error:
        log.exception("import job %s failed", claim.id)
        await job.end(ImportStatus.FAILED, None, failure=type(error).__name__)
    finally:
        if job.path is not None:
            await asyncio.to_thread(job.path.unlink, missing_ok=True)
