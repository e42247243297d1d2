"""Each server process's import worker: up to `concurrency` jobs at once, claimed from the
import_jobs table (app.imports.leases), so a job queued on one server may run on another
and a job whose process died is retaken by any process once its lease runs out.

startImport wakes its own process's worker after the commit; every worker also looks for
queued or orphaned jobs every `poll_seconds`. Stopping waits `shutdown_seconds` for the
running jobs, then cancels them (their transactions roll back) and hands them back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.imports.execution import execute
from app.imports.leases import claim, worker_name
from app.settings import ImportJobs, Settings

log = logging.getLogger(__name__)

# Per process: the worker serving each engine that requests write import jobs with.
_WORKERS: dict[int, ImportWorker] = {}


class ImportWorker:
    def __init__(self, engine: AsyncEngine, settings: ImportJobs, folder: Path) -> None:
        self.sessions = db.create_sessionmaker(engine)
        self.settings = settings
        self.folder = folder
        self.name = worker_name()
        self.lease = timedelta(seconds=settings.lease_seconds)
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        self._again = False  # woken while every runner was busy or about to stop

    def wake(self) -> None:
        """Look for a job now (in a new runner when one is free)."""
        self._again = True
        if self.stopping or len(self.tasks) >= self.settings.concurrency:
            return
        task = asyncio.get_running_loop().create_task(self._runner())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _runner(self) -> None:
        while not self.stopping:
            self._again = False
            try:
                async with self.sessions() as session:
                    claimed = await claim(session, worker=self.name, lease=self.lease)
            except Exception:
                log.exception("claiming an import job failed")
                return
            if claimed is None:
                if self._again:
                    continue
                return
            try:
                await execute(self.sessions, claimed, folder=self.folder, lease=self.lease)
            except Exception:  # the job stays claimed: retaken when its lease ends
                log.exception("import job %s: recording its end failed", claimed.id)

    async def poll(self) -> None:
        while True:
            self.wake()
            await asyncio.sleep(self.settings.poll_seconds)

    async def stop(self) -> None:
        """Wait for the running jobs up to shutdown_seconds; cancel (and hand back) the rest."""
        self.stopping = True
        running = set(self.tasks)
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=self.settings.shutdown_seconds)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def idle(self) -> None:
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


def wake(engine: AsyncEngine) -> None:
    """After startImport commits: this process's worker looks for the job at once."""
    worker = _WORKERS.get(id(engine))
    if worker is not None:
        worker.wake()


async def wait_for_jobs() -> None:
    """Until no worker of this process runs a job (tests)."""
    for worker in list(_WORKERS.values()):
        await worker.idle()


@contextlib.asynccontextmanager
async def running(requests: AsyncEngine, url: str, settings: Settings) -> AsyncIterator[None]:
    """The worker, for as long as the server runs, on connections of its own (two per job
    and one to claim with): imports never take the requests' pool."""
    jobs = settings.imports
    engine = db.create_engine(
        url,
        timeouts=settings.timeouts,
        pooler=settings.pooler,
        pool_size=2 * jobs.concurrency + 1,
        max_overflow=0,
    )
    worker = ImportWorker(engine, jobs, settings.data_dir / "imports")
    _WORKERS[id(requests)] = worker
    poller = asyncio.create_task(worker.poll())
    try:
        yield
    finally:
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        await worker.stop()
        _WORKERS.pop(id(requests), None)
        await engine.dispose()
