"""Logging activities: store the valid items of a batch with one statement.

(source, externalId) is the idempotency key, and it belongs to the caller that sent it (the
token's user, `logged_by_id`; the system's own calls share one scope), as a payment API
scopes its keys by account: another caller's key never refuses or reveals this one's. A
repeat (in the table already, in flight in another transaction, or earlier in the same
batch) is skipped by ON CONFLICT DO NOTHING and reported as a duplicate, unless its payload
differs from the stored one: that item is rejected with IDEMPOTENCY_CONFLICT (Stripe's
rule). Items are inserted in key order so that two batches sharing keys wait for each other
instead of deadlocking; of in-batch repeats the first item is stored (the others are
compared with it). Items are checked by app.activities.items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import BigInteger, String, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from app.activities.items import ActivityInput as ActivityInput
from app.activities.items import ActivityRow, validate_items
from app.errors import AppError, ErrorGroup, IdempotencyConflictError, InvalidInputError
from app.kit import changes
from app.kit.actor import Actor
from app.kit.sql import sql_file
from app.models.activities import Activity


@dataclass(slots=True)
class LogResult:
    accepted_count: int = 0
    duplicate_count: int = 0
    rejected: list[tuple[int, list[AppError]]] = field(default_factory=list)
    # Per item: the stored id of a newly written row; None for duplicates and rejected.
    new_ids: list[int | None] = field(default_factory=list)
    # Per item: the id of the stored row a duplicate repeats.
    duplicate_of: dict[int, int] = field(default_factory=dict)


_INSERT = sql_file(__package__, "log_activities.sql", bindparam("rows", type_=Text))


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value))


async def log_activities(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[ActivityInput | AppError],
    max_batch: int,
    now: datetime | None = None,
) -> LogResult:
    """Store the valid items, skip repeats, report each invalid one by its index.

    An item may be an AppError already: the edge could not parse it (e.g. a malformed id).
    """
    if not 1 <= len(items) <= max_batch:
        raise InvalidInputError(f"Send between 1 and {max_batch} activities.", field="activities")
    result = LogResult(new_ids=[None] * len(items))
    rows, result.rejected = await validate_items(session, actor=actor, items=items, now=now)
    if rows:
        await _store(session, rows, result)
    result.rejected.sort(key=lambda r: r[0])
    await record_log(session, actor, result)
    return result


async def record_log(session: AsyncSession, actor: Actor, result: LogResult) -> None:
    """One audit entry per call, with its counts. Its `activity.logged` events are written by
    the statement that stores the rows (log_activities.sql): IN_STATEMENT."""
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit(
            "activity.log",
            "Activity",
            next((i for i in result.new_ids if i is not None), None),
            {
                "accepted": result.accepted_count,
                "duplicates": result.duplicate_count,
                "rejected": len(result.rejected),
            },
        ),
        events=changes.IN_STATEMENT,
    )


async def _store(session: AsyncSession, rows: list[ActivityRow], result: LogResult) -> None:
    payload = orjson.dumps(rows, default=_json_default).decode()
    stored = (await session.execute(_INSERT, {"rows": payload})).all()
    result.accepted_count = len(stored)
    by_key = {(s.source, s.external_id): s.id for s in stored if s.external_id is not None}
    unkeyed = iter(s.id for s in stored if s.external_id is None)
    repeats: list[ActivityRow] = []
    for row in rows:
        if row.external_id is None:
            result.new_ids[row.index] = next(unkeyed)
        else:
            # Only the first of in-batch repeats owns the new row.
            new_id = by_key.pop((row.source, row.external_id), None)
            result.new_ids[row.index] = new_id
            if new_id is None:
                repeats.append(row)
    if repeats:
        await _match_repeats(session, repeats, result)


_COMPARED = ("account_id", "kind", "occurred_at", "user_id", "contact_id", "amount", "summary")
# The caller's stored rows of the given keys, one array per key column (one statement for
# any size): one index lookup per key, LATERAL so that no estimate (the caller condition
# is estimated to match almost nothing) turns it into a scan of every activity per key.
_KEYS = (
    func.unnest(
        bindparam("sources", type_=ARRAY(String)), bindparam("external_ids", type_=ARRAY(String))
    )
    .table_valued("s", "e")
    .render_derived(name="k")
)
_MATCH = (
    select(
        Activity.id,
        Activity.source,
        Activity.external_id,
        *(Activity.__table__.c[name] for name in _COMPARED),
    )
    .where(
        Activity.source == _KEYS.c.s,
        Activity.external_id == _KEYS.c.e,
        Activity.logged_by_id.is_not_distinct_from(bindparam("caller", type_=BigInteger)),
    )
    .limit(1)
    .lateral("a")
)
_STORED = select(_MATCH).select_from(_KEYS).join(_MATCH, true())


async def _match_repeats(
    session: AsyncSession, repeats: list[ActivityRow], result: LogResult
) -> None:
    """Duplicates of a stored key: the same payload is a duplicate, another a conflict.

    One statement for the whole batch, after the insert: a row another transaction stored
    meanwhile (ON CONFLICT waited for it) is visible to this new statement.
    """
    keys = {(r.source, r.external_id) for r in repeats}
    params = {
        "sources": [k[0] for k in keys],
        "external_ids": [k[1] for k in keys],
        "caller": repeats[0].logged_by_id,  # one caller per call
    }
    stored = {(s.source, s.external_id): s for s in await session.execute(_STORED, params)}
    for row in repeats:
        found = stored[(row.source, row.external_id)]
        if all(getattr(row, name) == getattr(found, name) for name in _COMPARED):
            result.duplicate_count += 1
            result.duplicate_of[row.index] = found.id
        else:
            result.rejected.append((row.index, [conflict_error()]))


def conflict_error() -> IdempotencyConflictError:
    return IdempotencyConflictError(
        "This source and externalId were sent before with a different payload.",
        field="externalId",
    )


async def log_activity(
    session: AsyncSession, *, actor: Actor, item: ActivityInput, now: datetime | None = None
) -> tuple[Activity, bool]:
    """One activity; a repeat of the caller's (source, externalId) returns the stored one and
    True."""
    result = await log_activities(session, actor=actor, items=[item], max_batch=1, now=now)
    if result.rejected:
        raise _single_error(result.rejected[0][1])
    new_id = result.new_ids[0]
    if new_id is not None:
        return await _activity(session, Activity.id == new_id), False
    return await _activity(session, Activity.id == result.duplicate_of[0]), True


def _single_error(errors: list[AppError]) -> AppError:
    return errors[0] if len(errors) == 1 else ErrorGroup(errors)


async def _activity(session: AsyncSession, *where: Any) -> Activity:
    return (await session.scalars(select(Activity).where(*where))).one()
