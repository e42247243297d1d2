"""Bulk ingest (POST /ingest/activities): logActivities' rules for up to 100,000 events.

Each item is validated exactly as `ingest.log_activities` validates it (the same checks,
reference lookups and REP scope, so the same errors); the valid rows are COPYed into a
staging table and merged by one statement: INSERT … SELECT … ON CONFLICT DO NOTHING, the
outbox's `activity.logged` events and the assignments' cadence in CTEs of the same
statement (as logActivities does per batch). The revenue figures follow from the
activities' own statement triggers. One audit entry per call, as logActivities writes.

Each staged row carries its new id, drawn from the activities' sequence before the merge,
so the merge's RETURNING maps back to input lines without relying on row order; a line
that was not inserted repeats a stored key and is compared with the stored row (the same
payload is a duplicate, another an IDEMPOTENCY_CONFLICT).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import cadence
from app.activities.ingest import (
    OUTBOX_CTE,
    ActivityInput,
    ActivityRow,
    LogResult,
    conflict_error,
    record_log,
    validate_items,
)
from app.auth.actor import Actor
from app.errors import AppError, InvalidInputError

STAGING = "activity_staging"
_COLUMNS = (
    "id",
    "account_id",
    "kind",
    "occurred_at",
    "user_id",
    "contact_id",
    "amount",
    "summary",
    "source",
    "external_id",
    "logged_by_id",
)
_STORED = ", ".join(_COLUMNS)

# Dropped at commit: nothing of one request is left on the pooled connection.
_CREATE = text(
    f"""
    CREATE TEMP TABLE {STAGING} (
        item int NOT NULL,
        id bigint NOT NULL,
        account_id bigint NOT NULL,
        kind text NOT NULL,
        occurred_at timestamptz NOT NULL,
        user_id bigint,
        contact_id bigint,
        amount numeric(14, 2),
        summary text,
        source text,
        external_id text,
        logged_by_id bigint
    ) ON COMMIT DROP
    """
)
_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('activities', 'id')) FROM generate_series(1, :n)"
)
# In key order, so that two calls sharing keys wait for each other instead of deadlocking;
# in-body repeats of a key: the first line wins.
_MERGE = text(
    f"""
    WITH new_activities AS (
        INSERT INTO activities ({_STORED})
        SELECT {_STORED} FROM {STAGING}
        ORDER BY source, external_id, item
        ON CONFLICT (source, external_id) DO NOTHING
        RETURNING id, account_id, kind, user_id, occurred_at, source, external_id, summary, amount
    ),
    {OUTBOX_CTE},
    {cadence.APPLY_CONTACTS_CTES}
    SELECT id FROM new_activities
    """
)
# The stored row each not-inserted staged row repeats, and whether the payload is the same
# (the columns ingest._COMPARED compares). A new statement: it sees rows that another
# transaction committed while the merge waited for them.
_REPEATS = text(
    f"""
    SELECT s.item, a.id,
           (a.account_id, a.kind::text, a.occurred_at, a.user_id, a.contact_id, a.amount,
            a.summary)
           IS NOT DISTINCT FROM
           (s.account_id, s.kind, s.occurred_at, s.user_id, s.contact_id, s.amount, s.summary)
           AS same
    FROM {STAGING} s
    JOIN unnest(CAST(:items AS int[])) AS m(item) ON m.item = s.item
    JOIN activities a ON a.source = s.source AND a.external_id = s.external_id
    """
)
_SET_TIMEOUTS = text(
    "SELECT set_config('statement_timeout', :ms, true), set_config('lock_timeout', :ms, true)"
)


async def ingest_bulk(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[ActivityInput | AppError],
    max_items: int,
    timeout_ms: int = 0,
    now: datetime | None = None,
) -> LogResult:
    """Store the valid items, skip repeats, report each invalid one by its index.

    `timeout_ms` (0: the connection's own) bounds each statement and lock wait of this
    transaction: a 100,000-row merge may need longer than a request's statement.
    """
    if not 1 <= len(items) <= max_items:
        raise InvalidInputError(f"Send between 1 and {max_items} activities.", field="activities")
    if timeout_ms:
        await session.execute(_SET_TIMEOUTS, {"ms": str(timeout_ms)})
    result = LogResult(new_ids=[None] * len(items))
    rows, result.rejected = await validate_items(session, actor=actor, items=items, now=now)
    if rows:
        await _merge(session, rows, result)
    result.rejected.sort(key=lambda r: r[0])
    await record_log(session, actor, result)
    return result


async def _merge(session: AsyncSession, rows: list[ActivityRow], result: LogResult) -> None:
    ids = list((await session.scalars(_IDS, {"n": len(rows)})).all())
    await session.execute(_CREATE)
    await _copy(session, rows, ids)
    inserted = set((await session.scalars(_MERGE)).all())
    result.accepted_count = len(inserted)
    missed: list[int] = []
    for row, new_id in zip(rows, ids, strict=True):
        if new_id in inserted:
            result.new_ids[row.index] = new_id
        else:
            missed.append(row.index)
    if missed:
        await _match_repeats(session, missed, result)


async def _copy(session: AsyncSession, rows: list[ActivityRow], ids: list[int]) -> None:
    """COPY on the session's own connection, inside its transaction (begun by _IDS)."""
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    records = [
        (
            r.index,
            new_id,
            r.account_id,
            r.kind,
            r.occurred_at,
            r.user_id,
            r.contact_id,
            r.amount,
            r.summary,
            r.source,
            r.external_id,
            r.logged_by_id,
        )
        for r, new_id in zip(rows, ids, strict=True)
    ]
    await driver.copy_records_to_table(STAGING, records=records, columns=("item", *_COLUMNS))


async def _match_repeats(session: AsyncSession, missed: list[int], result: LogResult) -> None:
    stored = {row.item: row for row in await session.execute(_REPEATS, {"items": missed})}
    for index in missed:
        found = stored.get(index)
        if found is not None and not found.same:
            result.rejected.append((index, [conflict_error()]))
            continue
        # A repeat (or, in a race, of a row deleted since: written before all the same).
        result.duplicate_count += 1
        if found is not None:
            result.duplicate_of[index] = found.id
