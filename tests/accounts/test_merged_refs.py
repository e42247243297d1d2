"""After mergeAccounts, the duplicate's externalRef names the survivor: activities logged by
it (logActivity, logActivities, NDJSON ingest) and upsertAccounts land there, never on the
archived duplicate."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.accounts import merge, upsert
from app.errors import ConflictError
from app.kit.actor import SYSTEM
from app.models.accounts import Account
from app.models.activities import Activity
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import log_op
from tests.support import Api, Caller
from tests.web.test_ingest_ndjson import ingest, lines

WHEN = "2026-03-01T09:00:00+00:00"


async def _merge(api: Api, caller: Caller, survivor: int, duplicate: int) -> None:
    input = {
        "survivorId": to_global_id("Account", survivor),
        "duplicateId": to_global_id("Account", duplicate),
    }
    result = await api.op("MergeAccounts", {"input": input}, caller=caller)
    assert result["mergeAccounts"]["errors"] == []


async def _merged_pair(api: Api, manager: Caller) -> tuple[Account, Account]:
    survivor = await create_account(api.session, "Acme", external_ref="A-1")
    duplicate = await create_account(api.session, "Acme Inc", external_ref="B-1")
    await _merge(api, manager, survivor.id, duplicate.id)
    return survivor, duplicate


async def _activity_accounts(api: Api) -> list[int]:
    query = select(Activity.account_id).order_by(Activity.id)
    return list(await api.session.scalars(query))


async def _upsert(api: Api, items: list[dict[str, Any]], caller: Caller) -> dict[str, Any]:
    data = await api.op("UpsertAccounts", {"input": {"accounts": items}}, caller=caller)
    result: dict[str, Any] = data["upsertAccounts"]
    return result


def _rejected(result: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    return {r["index"]: [(e["code"], e["field"]) for e in r["errors"]] for r in result["rejected"]}


async def test_activities_by_a_merged_ref_land_on_the_survivor(api: Api) -> None:
    manager, erp = await api.caller(Role.MANAGER), await api.caller(Role.INTEGRATION)
    survivor, _ = await _merged_pair(api, manager)
    item = {"kind": "CALL_INBOUND", "occurredAt": WHEN, "accountExternalRef": "B-1"}

    variables = {"input": {**item, "externalId": "1", "source": "pbx"}}
    one = await log_op(api, "LogActivity", variables, caller=erp)
    assert one["logActivity"]["errors"] == []
    assert one["logActivity"]["activity"]["account"]["id"] == to_global_id("Account", survivor.id)
    batch = await api.op("LogActivities", {"input": {"activities": [item]}}, caller=erp)
    assert (batch["logActivities"]["acceptedCount"], batch["logActivities"]["rejected"]) == (1, [])
    answer = lines(await ingest(api.client, erp, [item]))
    assert [a["status"] for a in answer] == ["accepted"]

    assert await _activity_accounts(api) == [survivor.id] * 3


async def test_a_ref_follows_a_chain_of_merges(api: Api) -> None:
    manager, erp = await api.caller(Role.MANAGER), await api.caller(Role.INTEGRATION)
    first, _ = await _merged_pair(api, manager)
    last = await create_account(api.session, "Acme Group", external_ref="C-1")
    await _merge(api, manager, last.id, first.id)
    item = {"kind": "EMAIL_SENT", "occurredAt": WHEN, "accountExternalRef": "B-1"}

    batch = await api.op("LogActivities", {"input": {"activities": [item]}}, caller=erp)

    assert batch["logActivities"]["acceptedCount"] == 1
    assert await _activity_accounts(api) == [last.id]


async def test_upsert_by_a_merged_ref_updates_the_survivor(api: Api) -> None:
    manager, erp = await api.caller(Role.MANAGER), await api.caller(Role.INTEGRATION)
    survivor, _ = await _merged_pair(api, manager)
    items: list[dict[str, Any]] = [
        {"externalRef": "B-1", "name": "Acme Renamed"},
        {"externalRef": "K-1", "name": "Branch", "parentExternalRef": "B-1"},
        {"externalRef": "A-1", "name": "Same account again"},
    ]

    result = await _upsert(api, items, erp)

    assert (result["createdCount"], result["updatedCount"]) == (1, 1)
    assert [a["externalRef"] for a in result["accounts"]] == ["A-1", "K-1"]
    assert result["accounts"][0]["id"] == to_global_id("Account", survivor.id)
    assert _rejected(result) == {2: [("INVALID_INPUT", "externalRef")]}
    rows = await api.session.execute(
        select(Account.external_ref, Account.name, Account.parent_id).order_by(Account.id)
    )
    assert [tuple(r) for r in rows] == [
        ("A-1", "Acme Renamed", None),
        ("B-1", "Acme Inc", None),
        ("K-1", "Branch", survivor.id),
    ]


async def test_upsert_by_a_ref_merged_into_an_account_without_one_is_refused(api: Api) -> None:
    manager, erp = await api.caller(Role.MANAGER), await api.caller(Role.INTEGRATION)
    survivor, _ = await _merged_pair(api, manager)
    cleared = await api.op(
        "UpdateAccount",
        {"input": {"id": to_global_id("Account", survivor.id), "externalRef": None}},
        caller=manager,
    )
    assert cleared["updateAccount"]["errors"] == []

    result = await _upsert(api, [{"externalRef": "B-1", "name": "Lost"}], erp)

    assert (result["createdCount"], result["updatedCount"]) == (0, 0)
    assert _rejected(result) == {0: [("INVALID_INPUT", "externalRef")]}
    names = await api.session.scalars(select(Account.name).order_by(Account.id))
    assert list(names) == ["Acme", "Acme Inc"]


async def test_an_upsert_racing_a_merge_is_a_conflict(api: Api, engine: AsyncEngine) -> None:
    survivor = await create_account(api.session, "Acme", external_ref="A-1")
    duplicate = await create_account(api.session, "Acme Inc", external_ref="B-1")
    item = upsert.UpsertItem(external_ref="B-1", fields={"name": "Acme Renamed"})
    sessions = db.create_sessionmaker(engine)
    async with sessions() as one, sessions() as two:
        await merge.merge_accounts(
            one, actor=SYSTEM, survivor_id=survivor.id, duplicate_id=duplicate.id
        )

        async def upsert_by_old_ref() -> None:
            await upsert.upsert_accounts(two, actor=SYSTEM, items=[item], max_batch=10)
            await two.commit()

        racing = asyncio.create_task(upsert_by_old_ref())
        await asyncio.sleep(0.3)
        assert not racing.done()  # waits for the merge's lock on the duplicate
        await one.commit()
        with pytest.raises(ConflictError):
            await racing

    names = await api.session.scalars(select(Account.name).order_by(Account.id))
    assert list(names) == ["Acme", "Acme Inc"]
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 2
