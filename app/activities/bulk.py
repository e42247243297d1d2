"""Bulk ingest (POST /ingest/activities): logActivities' rules for up to 100,000 events.

Each item is validated exactly as `ingest.log_activities` validates it (the same checks,
reference lookups and REP scope, so the same errors); the valid rows are COPYed into a
staging table and merged by one statement: INSERT … SELECT … ON CONFLICT DO NOTHING, the
outbox's `activity.logged` events and the assignments' cadence in CTEs of the same
statement (as logActivities does per batch). The revenue figures follow from the
activities' own statement triggers. One audit entry per call, as logActivities writes.

Each staged row draws its new id from the activities' sequence as it is copied, so the
merge's RETURNING maps back to input lines without relying on row order; a line
that was not inserted repeats a stored key and is compared with the stored row (the same
payload is a duplicate, another an IDEMPOTENCY_CONFLICT).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.ingest import LogResult, conflict_error, record_log
from app.activities.items import ActivityInput, ActivityRow, validate_items
from app.errors import AppError, InvalidInputError
from app.kit.actor import Actor
from app.kit.sql import read_sql, sql_file

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
_COPIED = ("item", *_COLUMNS[1:])  # the id is drawn by the staging table's default

# Dropped at commit: nothing of one request is left on the pooled connection. The .sql files
# name the table as STAGING does (tests/kit/test_sql_styles.py checks).
_CREATE = sql_file(__package__, "create_staging.sql")
_MERGE = read_sql(__package__, "merge_staged.sql")  # run by the driver itself
# The stored row each not-inserted staged row repeats, and whether the payload is the same
# (the columns ingest._COMPARED compares). A new statement: it sees rows that another
# transaction committed while the merge waited for them.
_REPEATS = sql_file(__package__, "staged_repeats.sql")
_SET_TIMEOUTS = text(
    "SELECT set_config('statement_timeout', :ms, true), set_config('lock_timeout', :ms, true)"
)
# The merge sorts the new rows for the outbox: in memory, not in temporary files.
_SET_WORK_MEM = text("SELECT set_config('work_mem', '64MB', true)")


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
    await session.execute(_SET_WORK_MEM)  # begins the transaction COPY and merge run in
    await session.execute(_CREATE)
    # The driver's own calls on the session's connection: SQLAlchemy's row processing
    # costs more than the statement for 100,000 returned rows.
    connection = await (await session.connection()).get_raw_connection()
    driver: Any = connection.driver_connection
    records = [
        (
            r.index,
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
        for r in rows
    ]
    await driver.copy_records_to_table(STAGING, records=records, columns=_COPIED)
    stored = await driver.fetch(_MERGE)
    result.accepted_count = len(stored)
    for index, new_id in stored:
        result.new_ids[index] = new_id
    if len(stored) < len(rows):
        missed = [r.index for r in rows if result.new_ids[r.index] is None]
        await _match_repeats(session, missed, result)


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
