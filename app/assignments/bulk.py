"""Bulk reassignment: move, copy or drop a set of assignments, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import cadence
from app.assignments.service import (
    AlreadyAssignedError,
    assignable_user,
    assignment_event,
    reload,
)
from app.errors import InvalidInputError, NotFoundError
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.models.assignments import Assignment, BulkMode, ManagerType
from app.models.auth import User


@dataclass(slots=True)
class BulkResult:
    affected_count: int
    dry_run: bool
    # APPEND: the copies; REPLACE: the moved rows; REMOVE: the removed rows as they were.
    assignments: list[Assignment]


async def bulk_reassign(
    session: AsyncSession,
    *,
    actor: Actor,
    mode: BulkMode,
    to_user_id: int | None,
    assignment_ids: Sequence[int] | None = None,
    from_user_id: int | None = None,
    manager_type: ManagerType | None = None,
    dry_run: bool = False,
) -> BulkResult:
    """Select by ids or by the user holding them; any failure leaves everything unchanged.

    A dry run does the same work inside a savepoint and rolls it back, so it reports
    exactly what the real call would do (ids of would-be copies are not kept).
    """
    if not dry_run:
        return await _reassign(
            session, actor, mode, to_user_id, assignment_ids, from_user_id, manager_type
        )
    nested = await session.begin_nested()
    try:
        result = await _reassign(
            session, actor, mode, to_user_id, assignment_ids, from_user_id, manager_type
        )
        for row in result.assignments:
            session.expunge(row)
    finally:
        await nested.rollback()
    result.dry_run = True
    return result


async def _select(
    session: AsyncSession,
    assignment_ids: Sequence[int] | None,
    from_user_id: int | None,
    manager_type: ManagerType | None,
) -> list[Assignment]:
    if (assignment_ids is None) == (from_user_id is None):
        raise InvalidInputError("Give assignmentIds or fromUserId (exactly one).")
    query = select(Assignment).order_by(Assignment.id).with_for_update()
    if assignment_ids is not None:
        if manager_type is not None:
            raise InvalidInputError("managerType narrows fromUserId only.", field="managerType")
        wanted = list(dict.fromkeys(assignment_ids))
        query = query.where(Assignment.id.in_(wanted))
    else:
        if await session.get(User, from_user_id) is None:
            raise NotFoundError("Unknown user.", field="fromUserId")
        query = query.where(Assignment.user_id == from_user_id)
        if manager_type is not None:
            query = query.where(Assignment.manager_type == manager_type)
    rows = list(await session.scalars(query.execution_options(populate_existing=True)))
    if assignment_ids is not None:
        missing = set(wanted) - {r.id for r in rows}
        if missing:
            raise NotFoundError(
                f"Unknown assignments: {len(missing)} of {len(wanted)}.", field="assignmentIds"
            )
    return rows


async def _check_conflicts(session: AsyncSession, rows: list[Assignment], to_user_id: int) -> None:
    keys = [(r.account_id, r.manager_type) for r in rows]
    clash = await session.scalar(
        select(Assignment.id)
        .where(
            Assignment.user_id == to_user_id,
            tuple_(Assignment.account_id, Assignment.manager_type).in_(keys),
        )
        .limit(1)
    )
    if clash is not None:
        raise AlreadyAssignedError(
            "The target user already holds one of these accounts for that manager type.",
            field="toUserId",
        )


async def _reassign(
    session: AsyncSession,
    actor: Actor,
    mode: BulkMode,
    to_user_id: int | None,
    assignment_ids: Sequence[int] | None,
    from_user_id: int | None,
    manager_type: ManagerType | None,
) -> BulkResult:
    if mode is not BulkMode.REMOVE:
        if to_user_id is None:
            raise InvalidInputError("toUserId is required to append or replace.", field="toUserId")
        await assignable_user(session, to_user_id, field="toUserId")
    rows = await _select(session, assignment_ids, from_user_id, manager_type)
    if not rows:
        return BulkResult(0, False, [])
    if mode is BulkMode.REMOVE:
        changed, audits = await _remove(session, rows)
    else:
        assert to_user_id is not None
        await _check_conflicts(session, rows, to_user_id)
        if mode is BulkMode.APPEND:
            changed, audits = await _append(session, rows, to_user_id)
        else:
            changed, audits = await _replace(session, rows, to_user_id)
    change = {BulkMode.REMOVE: "removed", BulkMode.APPEND: "created"}.get(mode, "reassigned")
    announced = [assignment_event(row, change) for row in changed]
    await changes.record(session, actor=actor, audit=audits, events=announced)
    return BulkResult(len(rows), False, changed)


Changed = tuple[list[Assignment], list[Audit]]


async def _remove(session: AsyncSession, rows: list[Assignment]) -> Changed:
    audits = [
        Audit(
            "assignment.bulk_remove",
            "Assignment",
            row.id,
            changes.diff({"userId": row.user_id}, {"userId": None}),
        )
        for row in rows
    ]
    for row in rows:
        await session.delete(row)
    await session.flush()
    return rows, audits


async def _append(session: AsyncSession, rows: list[Assignment], to_user_id: int) -> Changed:
    now = datetime.now(UTC)
    copies = [
        Assignment(
            account_id=r.account_id,
            user_id=to_user_id,
            manager_type=r.manager_type,
            contact_frequency_days=r.contact_frequency_days,
            started_at=now,
        )
        for r in rows
    ]
    session.add_all(copies)
    await session.flush()
    ids = [c.id for c in copies]
    await cadence.recompute_assignments(session, ids)
    audits = [
        Audit(
            "assignment.bulk_append",
            "Assignment",
            copy.id,
            {
                "copiedFrom": {"before": None, "after": source.id},
                **changes.diff({"userId": None}, {"userId": to_user_id}),
            },
        )
        for source, copy in zip(rows, copies, strict=True)
    ]
    return await reload(session, ids), audits


async def _replace(session: AsyncSession, rows: list[Assignment], to_user_id: int) -> Changed:
    audits = [
        Audit(
            "assignment.bulk_replace",
            "Assignment",
            row.id,
            changes.diff({"userId": row.user_id}, {"userId": to_user_id}),
        )
        for row in rows
    ]
    for row in rows:
        row.user_id = to_user_id
    await session.flush()
    ids = [r.id for r in rows]
    # An assignee-only rule counts the new user's own contacts from now on.
    await cadence.recompute_assignments(session, ids)
    return await reload(session, ids), audits
