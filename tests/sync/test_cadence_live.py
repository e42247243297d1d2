"""cadenceChanged hears an assignment whose next due moves because an activity was logged,
voided or merged: the write announces it as assignment.changed ("change": "cadence")."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api, Caller


async def _log(api: Api, caller: Caller, account_id: int, hours_ago: int) -> str:
    item = {
        "kind": "VISIT",
        "occurredAt": (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(),
        "accountId": to_global_id("Account", account_id),
    }
    payload = (await api.op("LogActivity", {"input": item}, caller=caller))["logActivity"]
    assert payload["errors"] == []
    activity_id: str = payload["activity"]["id"]
    return activity_id


async def _heard(ws: WsClient) -> dict[str, Any]:
    data: dict[str, Any] = (await ws.next_data("c"))["cadenceChanged"]
    return data


async def test_logging_voiding_and_merging_are_heard_once_each(api: Api, ws_url: str) -> None:
    manager, rep = await api.caller(Role.MANAGER), await api.caller(Role.REP)
    account = await create_account(api.session, "Cadence Co")
    duplicate = await create_account(api.session, "Cadence Co (dup)")
    month_ago = datetime.now(UTC) - timedelta(days=30)
    row = await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, frequency=14, started_at=month_ago
    )
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("c", "CadenceChanged", {"userId": rep.id})
        await asyncio.sleep(0.2)
        visit = await _log(api, manager, account.id, hours_ago=1)
        heard = await _heard(ws)
        assert (heard["id"], heard["status"]) == (to_global_id("Assignment", row.id), "ON_TRACK")
        voided = {"input": {"id": visit, "reason": "Wrong account"}}
        assert (await api.op("VoidActivity", voided, caller=manager))["voidActivity"][
            "errors"
        ] == []
        assert ((await _heard(ws))["status"], (await ws.silent(0.3))) == ("OVERDUE", True)
        await _log(api, manager, duplicate.id, hours_ago=2)  # no assignment there: nothing heard
        assert await ws.silent(0.3)
        ids = {
            "survivorId": to_global_id("Account", account.id),
            "duplicateId": to_global_id("Account", duplicate.id),
        }
        assert (await api.op("MergeAccounts", {"input": ids}, caller=manager))["mergeAccounts"][
            "errors"
        ] == []
        heard = await _heard(ws)
        assert (heard["status"], heard["account"]["name"]) == ("ON_TRACK", "Cadence Co")
        assert await ws.silent(0.5)
