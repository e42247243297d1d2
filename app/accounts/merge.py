"""Merging a duplicate account into its survivor, in one transaction.

Everything hanging on the duplicate moves: contacts, activities (the revenue trigger moves
their yearly sums), the leads converted into it, assignments (the survivor's win per manager
type), plans with their items, branches, pipeline entries (the survivor's win per pipeline)
and stage history. The survivor's empty fields are filled from the duplicate; the duplicate
is archived with a pointer to the survivor. Both accounts are locked in id order first.

The duplicate's externalRef moves to a survivor that has none; otherwise the duplicate keeps
it, so no other account can take it, and every lookup by ref (logActivities, bulk ingest,
upsertAccounts) follows the pointer to the survivor (SQL accounts_by_external_ref).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts import merge_moves
from app.accounts import tags as account_tags
from app.accounts.service import ACCOUNT_FIELDS, HIERARCHY_LOCK
from app.activities import cadence
from app.errors import ConflictError, InvalidInputError, NotFoundError
from app.events import Event
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.models.accounts import Account
from app.models.activities import Activity
from app.models.assignments import Assignment
from app.models.handoff import BlockedAttempt, PipelineEntry, StageEvent
from app.models.planning import AccountPlan, PlanAction, PlanGoal, WhiteSpace

# Filled from the duplicate when empty on the survivor. The parent is left alone: the
# duplicate's parent could sit below the survivor.
FILLED = tuple(f for f in ACCOUNT_FIELDS if f not in ("parent_id", "attributes"))


@dataclass(frozen=True, slots=True)
class MergeCounts:
    contacts: int = 0
    activities: int = 0
    assignments: int = 0
    plans: int = 0
    branches: int = 0
    leads: int = 0


async def _lock(session: AsyncSession, survivor_id: int, duplicate_id: int) -> dict[int, Account]:
    query = (
        select(Account)
        .where(Account.id.in_([survivor_id, duplicate_id]))
        .order_by(Account.id)
        .with_for_update()
    )
    rows = await session.scalars(query.execution_options(populate_existing=True))
    return {row.id: row for row in rows}


async def _is_below(session: AsyncSession, account_id: int, ancestor_id: int) -> bool:
    up = select(Account.id, Account.parent_id).where(Account.id == account_id)
    tree = up.cte("up", recursive=True)
    tree = tree.union(
        select(Account.id, Account.parent_id).join(tree, Account.id == tree.c.parent_id)
    )
    found = await session.scalar(select(literal(1)).where(tree.c.id == ancestor_id).limit(1))
    return found is not None


async def _check(
    session: AsyncSession,
    survivor_id: int,
    duplicate_id: int,
    expected_version: int | None,
) -> tuple[Account, Account]:
    if survivor_id == duplicate_id:
        raise InvalidInputError("An account cannot be merged into itself.", field="duplicateId")
    # Branches change parents: serialised with other parent changes, before any row lock.
    await session.execute(select(func.pg_advisory_xact_lock(HIERARCHY_LOCK)))
    found = await _lock(session, survivor_id, duplicate_id)
    survivor, duplicate = found.get(survivor_id), found.get(duplicate_id)
    if survivor is None:
        raise NotFoundError("Unknown account.", field="survivorId")
    if duplicate is None:
        raise NotFoundError("Unknown account.", field="duplicateId")
    if expected_version is not None and survivor.version != expected_version:
        raise ConflictError(
            f"The survivor changed since version {expected_version} (now {survivor.version}).",
            field="expectedVersion",
        )
    if duplicate.merged_into_id is not None:
        raise InvalidInputError("The duplicate was merged already.", field="duplicateId")
    if survivor.merged_into_id is not None:
        raise InvalidInputError("The survivor was merged into another account.", field="survivorId")
    if await _is_below(session, survivor_id, duplicate_id):
        raise InvalidInputError(
            "An account cannot be merged into one of its own branches.", field="survivorId"
        )
    return survivor, duplicate


async def _move(session: AsyncSession, model: Any, survivor_id: int, duplicate_id: int) -> int:
    result = await session.execute(
        update(model).where(model.account_id == duplicate_id).values(account_id=survivor_id)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _move_keyed(
    session: AsyncSession, model: Any, key: Any, survivor_id: int, duplicate_id: int
) -> int:
    """Move rows unless the survivor has one with the same key (then the duplicate's goes)."""
    kept = select(key).where(model.account_id == survivor_id)
    await session.execute(delete(model).where(model.account_id == duplicate_id, key.in_(kept)))
    return await _move(session, model, survivor_id, duplicate_id)


def _fill(survivor: Account, duplicate: Account) -> dict[str, Any]:
    filled: dict[str, Any] = {}
    for name in FILLED:
        if name == "external_ref":
            continue
        if getattr(survivor, name) in (None, "") and getattr(duplicate, name) not in (None, ""):
            filled[name] = getattr(duplicate, name)
    extra = {k: v for k, v in duplicate.attributes.items() if k not in survivor.attributes}
    if extra:
        filled["attributes"] = {**survivor.attributes, **extra}
    tags = [*survivor.tags, *(t for t in duplicate.tags if t not in survivor.tags)]
    if tags != survivor.tags:
        filled["tags"] = tags[: account_tags.MAX_TAGS]
    return filled


async def merge_accounts(
    session: AsyncSession,
    *,
    actor: Actor,
    survivor_id: int,
    duplicate_id: int,
    expected_version: int | None = None,
) -> tuple[Account, MergeCounts]:
    survivor, duplicate = await _check(session, survivor_id, duplicate_id, expected_version)
    s, d = survivor_id, duplicate_id
    contacts, moved_contacts = await merge_moves.move_contacts(session, s, d)
    assignments, dropped = await merge_moves.move_assignments(session, s, d)
    moved_leads = await merge_moves.move_leads(session, s, d)
    counts = MergeCounts(
        contacts=contacts,
        activities=await _move(session, Activity, s, d),
        assignments=len(assignments),
        plans=await _move(session, AccountPlan, s, d),
        branches=int(
            (
                await session.execute(
                    update(Account).where(Account.parent_id == d).values(parent_id=s)
                )
            ).rowcount  # type: ignore[attr-defined]
        ),
    )
    for model in (PlanGoal, PlanAction, WhiteSpace, StageEvent, BlockedAttempt):
        await _move(session, model, s, d)
    await _move_keyed(session, PipelineEntry, PipelineEntry.pipeline_id, s, d)
    assignment_ids = list(
        await session.scalars(select(Assignment.id).where(Assignment.account_id == s))
    )
    await cadence.recompute_assignments(session, assignment_ids)
    moved = [
        *moved_contacts,
        *dropped,
        *await merge_moves.moved_assignment_events(session, assignments),
        *moved_leads,
    ]
    filled = _fill(survivor, duplicate)
    moved_ref = survivor.external_ref is None and duplicate.external_ref is not None
    before = {key: getattr(survivor, key) for key in filled}
    if moved_ref:
        before["external_ref"] = None
        filled["external_ref"] = duplicate.external_ref
        duplicate.external_ref = None
    duplicate.merged_into_id = s
    if duplicate.archived_at is None:
        duplicate.archived_at = func.now()
    duplicate.version += 1
    await session.flush()
    for key, value in filled.items():
        setattr(survivor, key, value)
    survivor.version += 1
    await session.flush()
    await session.refresh(survivor, ["updated_at"])
    merged = {
        "duplicateId": d,
        "moved": {
            "contacts": counts.contacts,
            "activities": counts.activities,
            "assignments": counts.assignments,
            "plans": counts.plans,
            "branches": counts.branches,
            "leads": counts.leads,
        },
        "filled": changes.diff(before, filled),
    }
    data = events.account_data(
        survivor, mergedId=events.global_id("Account", d), moved=asdict(counts)
    )
    # One change, two rows: the survivor's and the duplicate's; account.merged tells both.
    await changes.record(
        session,
        actor=actor,
        audit=[
            Audit("account.merge", "Account", s, merged),
            Audit(
                "account.merged",
                "Account",
                d,
                changes.diff({"mergedIntoId": None}, {"mergedIntoId": s}),
            ),
        ],
        events=[Event(events.EventType.ACCOUNT_MERGED, data, account_id=s), *moved],
    )
    return survivor, counts
