"""Subscriptions over real WebSocket connections (graphql-transport-ws on /graphql)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities.reminders import remind_overdue
from app.auth import tokens as auth
from app.kit.actor import SYSTEM
from app.models.assignments import Assignment
from app.models.auth import Role, User
from schema.relay import to_global_id
from tests.activities.factories import create_assignment
from tests.handoff.factories import qualified_account
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api, Caller


async def _move(api: Api, caller: Caller, pk: int, trigger: str, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"accountId": to_global_id("Account", pk), "trigger": trigger, **extra}}
    result: dict[str, Any] = (await api.op("TransitionAccount", variables, caller=caller))[
        "transitionAccount"
    ]
    assert result["errors"] == [], result
    return result


async def test_a_change_through_one_process_is_heard_on_the_other(
    two_servers: tuple[str, str], session: AsyncSession
) -> None:
    first, second = two_servers
    async with httpx.AsyncClient(base_url=first) as client:
        api = Api(client, session)
        manager = await api.caller(Role.MANAGER)
        account = await qualified_account(session, "Across Co")
        url = second.replace("http://", "ws://") + "/graphql"
        async with WsClient(url, manager) as ws:
            await ws.acked()
            await ws.subscribe("s1", "StageChanged", {"pipeline": "default"})
            await ws.subscribe("a1", "ActivityLogged", {"accountId": None})
            await asyncio.sleep(0.3)  # the subscriptions are listening
            moved = await _move(api, manager, account.id, "qualify")
            data = await ws.next_data("s1")
        event = data["stageChanged"]
        assert event["id"] == moved["event"]["id"]
        assert (event["fromStage"], event["toStage"], event["handoff"]) == (
            "PROSPECT",
            "QUALIFIED",
            False,
        )
        assert event["account"] == {"id": to_global_id("Account", account.id), "name": "Across Co"}


async def test_stage_changed_hears_its_pipeline_only_and_never_a_rollback(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Moves Co")
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("other", "StageChanged", {"pipeline": "elsewhere"})
        await ws.subscribe("s", "StageChanged", {})
        await asyncio.sleep(0.2)
        variables = {"input": {"accountId": to_global_id("Account", account.id), "trigger": "win"}}
        refused = (await api.op("TransitionAccount", variables, caller=manager))[
            "transitionAccount"
        ]
        assert [e["code"] for e in refused["errors"]] == ["INVALID_TRANSITION"]
        await _move(api, manager, account.id, "qualify")
        data = await ws.next_data("s")
        assert data["stageChanged"]["toStage"] == "QUALIFIED"
        assert data["stageChanged"]["toOwner"] is None
        assert await ws.silent(0.5)


async def test_handoff_requested_reaches_the_new_owner_only(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    owner = await api.caller(Role.REP, name="New Owner")
    bystander = await api.caller(Role.REP)
    account = await qualified_account(api.session, "Handed Co")
    await _move(api, manager, account.id, "qualify")
    async with WsClient(ws_url, owner) as mine, WsClient(ws_url, bystander) as theirs:
        await mine.acked()
        await theirs.acked()
        await mine.subscribe("h", "MyHandoffs")
        await theirs.subscribe("h", "MyHandoffs")
        await asyncio.sleep(0.2)
        await _move(
            api,
            manager,
            account.id,
            "handoff",
            toOwnerId=owner.id,
            reason="Ready to buy",
            benefit="A named executive",
        )
        data = (await mine.next_data("h"))["handoffRequested"]
        assert (data["toStage"], data["reason"], data["benefit"]) == (
            "OPPORTUNITY",
            "Ready to buy",
            "A named executive",
        )
        assert data["account"]["name"] == "Handed Co"
        assert data["fromOwner"] is None
        assert await theirs.silent(0.5)


async def test_cadence_changed_hears_new_assignments_and_overdue_ones_once(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await qualified_account(api.session, "Cadence Co")
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("c", "CadenceChanged", {"userId": rep.id})
        await asyncio.sleep(0.2)
        row = await create_assignment(
            api.session,
            account_id=account.id,
            user_id=rep.user_id,
            frequency=7,
            started_at=datetime.now(UTC) - timedelta(days=30),
        )
        data = (await ws.next_data("c"))["cadenceChanged"]
        assert data["id"] == to_global_id("Assignment", row.id)
        # The account's last contact (a day ago) keeps it on track; make it overdue: heard as
        # a cadence change (migration 0018), then once as the overdue reminder.
        await api.session.execute(
            update(Assignment).values(last_contact_at=datetime.now(UTC) - timedelta(days=9))
        )
        await api.session.commit()
        assert (await ws.next_data("c"))["cadenceChanged"]["status"] == "OVERDUE"
        assert await remind_overdue(api.session, now=datetime.now(UTC)) == 1
        await api.session.commit()
        data = (await ws.next_data("c"))["cadenceChanged"]
        assert data["status"] == "OVERDUE"
        assert data["account"]["name"] == "Cadence Co"
        assert await remind_overdue(api.session, now=datetime.now(UTC) + timedelta(days=1)) == 0
        await api.session.commit()
        assert await ws.silent(0.5)


async def test_activity_logged_filters_by_account(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    erp = await api.caller(Role.INTEGRATION)
    watched = await qualified_account(api.session, "Watched")
    other = await qualified_account(api.session, "Other")
    watched_id = to_global_id("Account", watched.id)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("a", "ActivityLogged", {"accountId": watched_id})
        await asyncio.sleep(0.2)
        items = [
            {"kind": "CALL_INBOUND", "occurredAt": "2026-01-02T10:00:00Z", "accountId": gid}
            for gid in (to_global_id("Account", other.id), watched_id, watched_id)
        ]
        items[1]["summary"] = "First"
        items[2]["summary"] = "Second"
        result = await api.op("LogActivities", {"input": {"activities": items}}, caller=erp)
        assert result["logActivities"]["acceptedCount"] == 3
        got = [(await ws.next_data("a"))["activityLogged"] for _ in range(2)]
        assert [g["summary"] for g in got] == ["First", "Second"]
        assert {g["account"]["id"] for g in got} == {watched_id}
        assert await ws.silent(0.5)


async def test_an_integration_may_not_subscribe(api: Api, ws_url: str) -> None:
    erp = await api.caller(Role.INTEGRATION)
    async with WsClient(ws_url, erp) as ws:
        await ws.acked()
        await ws.subscribe("a", "ActivityLogged")
        message = await ws.receive()
        assert message["type"] in ("error", "next")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]


async def test_a_bad_token_is_refused_at_connection_init(api: Api, ws_url: str) -> None:
    async with WsClient(ws_url, None, token="af_not_a_token") as ws:
        assert await ws.close_code() == 4403


async def test_a_revoked_tokens_subscription_is_closed(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("s", "StageChanged")
        await asyncio.sleep(0.2)
        await auth.revoke_token(api.session, actor=SYSTEM, raw_token=manager.token)
        await api.session.commit()
        assert await ws.close_code() == 4403


async def test_ping_pong_and_protocol_errors(api: Api, ws_url: str) -> None:
    manager = await api.caller(Role.MANAGER)
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.send({"type": "ping"})
        assert await ws.receive() == {"type": "pong"}
        await ws.subscribe("x", "StageChanged")
        await ws.subscribe("x", "StageChanged")
        assert await ws.close_code() == 4409


async def test_a_role_that_loses_the_right_is_closed_on_its_next_check(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Demoted Co")
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe("s", "StageChanged")
        await asyncio.sleep(0.2)
        await api.session.execute(
            update(User).where(User.id == manager.user_id).values(role=Role.INTEGRATION)
        )
        await api.session.commit()
        await asyncio.sleep(1.2)  # past the recheck interval
        admin = await api.caller(Role.ADMIN)
        await _move(api, admin, account.id, "qualify")
        assert await ws.close_code() == 4403
