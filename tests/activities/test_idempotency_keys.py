"""Idempotency keys belong to the caller that sent them (migration idempotency_by_caller):
on logActivity, logActivities and the NDJSON bulk ingest; and the key index serves both."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.ingest import _STORED, ActivityInput, log_activities
from app.kit.actor import SYSTEM
from app.kit.sql import read_sql
from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log_op, noon
from tests.support import Api, Caller

WHEN = "2026-03-01T09:00:00+00:00"


def _invoice(account_gid: str, **change: Any) -> dict[str, Any]:
    item = {
        "accountId": account_gid,
        "kind": "INVOICE",
        "occurredAt": WHEN,
        "amount": "420.00",
        "source": "erp",
        "externalId": "INV-42",
    }
    return item | change


async def _keys(api: Api) -> list[tuple[int | None, str | None, str | None]]:
    rows = await api.session.execute(
        select(Activity.logged_by_id, Activity.source, Activity.external_id).order_by(Activity.id)
    )
    return [(r.logged_by_id, r.source, r.external_id) for r in rows]


async def _ingest(api: Api, caller: Caller, items: list[dict[str, Any]]) -> list[str]:
    body = b"".join(orjson.dumps(i) + b"\n" for i in items)
    headers = {"authorization": f"Bearer {caller.token}"}
    response = await api.client.post("/ingest/activities", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return [orjson.loads(line)["status"] for line in response.content.splitlines()]


async def test_a_reps_key_does_not_take_the_integrations_invoice(api: Api) -> None:
    rep = await api.caller(Role.REP)
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    await create_assignment(api.session, account_id=account.id, user_id=rep.user_id)
    gid = to_global_id("Account", account.id)
    note = _invoice(gid, kind="NOTE", amount=None, summary="my own note")
    first = (await log_op(api, "LogActivity", {"input": note}, caller=rep))["logActivity"]
    assert first["errors"] == []
    invoice = (await log_op(api, "LogActivity", {"input": _invoice(gid)}, caller=erp))[
        "logActivity"
    ]
    assert (invoice["errors"], invoice["duplicate"]) == ([], False)
    assert invoice["activity"]["id"] != first["activity"]["id"]
    again = (await log_op(api, "LogActivity", {"input": _invoice(gid)}, caller=erp))["logActivity"]
    assert (again["duplicate"], again["activity"]["id"]) == (True, invoice["activity"]["id"])
    clash = _invoice(gid, amount="1.00")
    refused = (await log_op(api, "LogActivity", {"input": clash}, caller=erp))["logActivity"]
    assert [e["code"] for e in refused["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    assert await _keys(api) == [
        (rep.user_id, "erp", "INV-42"),
        (erp.user_id, "erp", "INV-42"),
    ]


async def test_batches_and_bulk_ingest_scope_keys_by_caller(api: Api) -> None:
    one = await api.caller(Role.INTEGRATION)
    two = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    items = [_invoice(gid, externalId=f"INV-{n}") for n in range(3)]
    batch = {"input": {"activities": items}}
    mine = (await api.op("LogActivities", batch, caller=one))["logActivities"]
    assert (mine["acceptedCount"], mine["duplicateCount"]) == (3, 0)
    theirs = (await api.op("LogActivities", batch, caller=two))["logActivities"]
    assert (theirs["acceptedCount"], theirs["duplicateCount"], theirs["rejected"]) == (3, 0, [])
    assert await _ingest(api, one, items) == ["duplicate"] * 3
    changed = [_invoice(gid, externalId=f"INV-{n}", amount="1.00") for n in range(3)]
    assert await _ingest(api, two, changed) == ["rejected"] * 3
    third = await api.caller(Role.INTEGRATION)
    assert await _ingest(api, third, changed) == ["accepted"] * 3
    assert len(await _keys(api)) == 9


async def test_the_systems_own_calls_share_one_scope(api: Api) -> None:
    account = await create_account(api.session, "Acme")
    item = ActivityInput(
        kind=ActivityKind.CALL_INBOUND,
        occurred_at=noon(0),
        account_id=account.id,
        source="pbx",
        external_id="C-1",
    )
    unkeyed = ActivityInput(kind=ActivityKind.NOTE, occurred_at=noon(0), account_id=account.id)
    first = await log_activities(api.session, actor=SYSTEM, items=[item, unkeyed], max_batch=9)
    again = await log_activities(api.session, actor=SYSTEM, items=[item, unkeyed], max_batch=9)
    assert (first.accepted_count, first.duplicate_count) == (2, 0)
    assert (again.accepted_count, again.duplicate_count) == (1, 1)  # the keyless NOTE again


async def _plan(session: AsyncSession, statement: str, *params: Any) -> str:
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    rows = await raw.fetch(f"EXPLAIN (COSTS OFF) {statement}", *params)
    return "\n".join(r[0] for r in rows)


async def _stored_keys(api: Api, n: int) -> list[str]:
    """`n` keyed activities of the system (logged_by_id NULL), analysed."""
    account = await create_account(api.session, "Acme")
    keys = [f"K-{k}" for k in range(n)]
    for start in range(0, n, 1000):
        items = [
            ActivityInput(
                kind=ActivityKind.NOTE,
                occurred_at=noon(0),
                account_id=account.id,
                source="erp",
                external_id=key,
            )
            for key in keys[start : start + 1000]
        ]
        await log_activities(api.session, actor=SYSTEM, items=items, max_batch=1000)
    await api.session.commit()
    await api.session.execute(text("ANALYZE activities"))
    return keys


def _index_lookups(plan: str) -> bool:
    return "Index Scan using uq_activities_caller_key" in plan and "Seq Scan" not in plan.replace(
        "Seq Scan on activity_staging", ""
    )


async def test_the_merge_and_the_repeat_lookups_use_the_key_index(api: Api) -> None:
    keys = await _stored_keys(api, 3000)
    session = api.session
    stored = _STORED.compile(dialect=(await session.connection()).dialect)
    values = {"sources": ["erp"] * 300, "external_ids": keys[:300], "caller": None, "param_1": 1}
    plan = await _plan(session, str(stored), *(values[k] for k in stored.positiontup or ()))
    assert _index_lookups(plan), plan
    await (await session.connection()).exec_driver_sql(
        read_sql("app.activities", "create_staging.sql")
    )
    merge = await _plan(session, read_sql("app.activities", "merge_staged.sql"))
    assert "Conflict Arbiter Indexes: uq_activities_caller_key" in merge
    await (await session.connection()).exec_driver_sql(
        "INSERT INTO activity_staging (item, account_id, kind, occurred_at, source, external_id)"
        " SELECT n, 1, 'NOTE', now(), 'erp', 'K-' || n FROM generate_series(0, 499) n"
    )
    repeats = read_sql("app.activities", "staged_repeats.sql").replace(":items", "$1")
    plan = await _plan(session, repeats, list(range(0, 500, 2)))
    assert _index_lookups(plan), plan
    await session.rollback()
