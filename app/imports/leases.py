"""Import jobs as a queue: claimed with a lease, renewed while they run, released on stop.

Every statement that records a job's progress or end names the claim's `attempt`: a runner
whose lease ran out and was taken by another process changes nothing any more.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Update, bindparam, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Interval, String

from app.imports.runner import Progress
from app.kit.actor import SYSTEM, Actor
from app.kit.sql import sql_file
from app.models.auth import Role
from app.models.imports import ImportJob, ImportKind, ImportMode, ImportStatus

_CLAIM = sql_file(
    __package__,
    "claim_job.sql",
    bindparam("worker", type_=String),
    bindparam("lease", type_=Interval),
)


class LeaseLostError(Exception):
    """The lease ran out and another runner claimed the job: this one must stop."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    attempt: int
    kind: ImportKind
    mode: ImportMode
    dry_run: bool
    mapping: dict[str, str | None]
    actor: Actor
    committed: Progress  # what earlier attempts committed (SKIP_INVALID only)
    ignore_unknown_columns: bool = False

    @property
    def resumes(self) -> bool:
        """Earlier attempts of a SKIP_INVALID import committed batches: go on after them."""
        return self.mode is ImportMode.SKIP_INVALID and not self.dry_run


def actor_data(actor: Actor) -> dict[str, Any]:
    data = dataclasses.asdict(actor)
    data["grants"] = None if actor.grants is None else sorted(actor.grants)
    return data


def actor_from(data: dict[str, Any] | None) -> Actor:
    if data is None:
        return SYSTEM
    grants = data.get("grants")
    return Actor(
        user_id=data.get("user_id"),
        role=Role(data["role"]),
        token_id=data.get("token_id"),
        request_id=data.get("request_id"),
        grants=None if grants is None else frozenset(grants),
    )


async def claim(session: AsyncSession, *, worker: str, lease: timedelta) -> Claim | None:
    row = (await session.execute(_CLAIM, {"worker": worker, "lease": lease})).one_or_none()
    await session.commit()
    if row is None:
        return None
    done = Progress(processed_rows=row[7], created=row[8], updated=row[9], rejected=row[10])
    return Claim(
        id=row[0],
        attempt=row[1],
        kind=ImportKind(row[2]),
        mode=ImportMode(row[3]),
        dry_run=row[4],
        mapping=row[5] or {},
        actor=actor_from(row[6]),
        committed=done,
        ignore_unknown_columns=row[11],
    )


def fenced(claim: Claim) -> Update:
    """An UPDATE of the job that touches nothing once another runner holds it."""
    return update(ImportJob).where(
        ImportJob.id == claim.id,
        ImportJob.attempts == claim.attempt,
        ImportJob.status == ImportStatus.RUNNING,
    )


async def held(session: AsyncSession, statement: Update) -> None:
    """Run a fenced update; LeaseLostError when the claim is no longer this runner's."""
    result = await session.execute(statement.execution_options(synchronize_session=False))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise LeaseLostError(f"import job {statement.whereclause} is another runner's")


async def renew(session: AsyncSession, claim: Claim, lease: timedelta) -> None:
    await held(session, fenced(claim).values(claimed_until=func.now() + lease))
    await session.commit()


async def release(session: AsyncSession, claim: Claim) -> None:
    """Leave the job to be retaken at once (this process is stopping)."""
    await session.execute(fenced(claim).values(claimed_until=func.now()))
    await session.commit()
