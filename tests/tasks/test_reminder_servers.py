"""Reminders from the servers themselves: two real server processes, each running the
reminder loop, publish a task falling due and an assignment going overdue once, over a real
WebSocket (TaskDue, CadenceChanged) and to a real webhook receiver, with no job run by hand."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.kit.writers import gid
from tests.ops.servers import Server, server, wait_until
from tests.schema.engine.subscriptions.client import WsClient
from tests.support import Api
from tests.tasks.support import make_task, operations
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_webhook

ENV = {
    "ACCOUNTFLOW_REMINDER_INTERVAL": "0.5",
    "ACCOUNTFLOW_WORKER": "1",  # webhook deliveries from the servers too
    "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
    "ACCOUNTFLOW_DAILY_UPKEEP": "0",  # the reminder loop alone
    "ACCOUNTFLOW_WS_PING_INTERVAL": "0",  # only the reminders arrive
}
LEAD = timedelta(seconds=4)  # time to subscribe before the reminders fall due


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


def _ws(running: Server) -> str:
    return running.base.replace("http://", "ws://") + "/graphql"


def _received(receiver: Receiver, kind: str) -> list[dict[str, object]]:
    return [r.json for r in receiver.received if r.json["type"] == kind]


async def _outbox(session: AsyncSession, kind: str) -> int:
    query = select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == kind)
    return int(await session.scalar(query) or 0)


async def test_two_servers_remind_of_a_due_task_and_an_overdue_assignment_once(
    session: AsyncSession, database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    with (
        server(database_url, tmp_path / "a", **ENV) as one,
        server(database_url, tmp_path / "b", **ENV) as two,
    ):
        async with httpx.AsyncClient(base_url=one.base) as client:
            api = Api(client, session)
            admin = await api.caller(Role.ADMIN)
            rep = await api.caller(Role.REP)
            other = await api.caller(Role.REP)
            await create_webhook(api, admin, receiver.url, ["TASK_DUE", "CADENCE_OVERDUE"])
        async with (
            WsClient(_ws(one), rep) as mine,
            WsClient(_ws(two), rep) as cadence,
            WsClient(_ws(two), other) as theirs,
        ):
            for ws in (mine, cadence, theirs):
                await ws.acked()
            await mine.subscribe_to("t", operations()["TaskDue"], name="TaskDue")
            await theirs.subscribe_to("t", operations()["TaskDue"], name="TaskDue")
            await cadence.subscribe("c", "CadenceChanged")
            await asyncio.sleep(1)  # the subscriptions listen
            when = datetime.now(UTC) + LEAD
            account = await create_account(session, "Due")
            task = await make_task(
                session, rep.user_id, title="Call Ann", due_at=when + timedelta(hours=1),
                remind_at=when, account_id=account.id,
            )  # fmt: skip
            await create_assignment(
                session, account_id=account.id, user_id=rep.user_id, frequency=1,
                started_at=when - timedelta(days=1),
            )  # fmt: skip
            heard = (await mine.next_data("t", wait=60))["taskDue"]
            heard_at = datetime.now(UTC)
            assert datetime.fromisoformat(heard.pop("dueAt")) == when + timedelta(hours=1)
            expected = {"id": gid("Task", task.id), "title": "Call Ann", "owner": {"id": rep.id}}
            assert heard == expected
            assert when <= heard_at < when + timedelta(minutes=1)
            created = (await cadence.next_data("c"))["cadenceChanged"]
            assert created["status"] == "DUE_SOON"  # the new assignment, due in seconds
            overdue = (await cadence.next_data("c", wait=60))["cadenceChanged"]
            assert overdue["status"] == "OVERDUE"
            assert overdue["account"] == {"id": gid("Account", account.id), "name": "Due"}
            assert datetime.now(UTC) < when + timedelta(minutes=1)
            await wait_until(lambda: _both_delivered(receiver), 60)
            await asyncio.sleep(2)  # four more rounds of each server's loop
            assert await theirs.silent(0.5)
            assert await mine.silent(0.5)
    (due,) = _received(receiver, "task.due")
    assert due["data"]["id"] == gid("Task", task.id)  # type: ignore[index]
    assert len(_received(receiver, "cadence.overdue")) == 1
    assert await _outbox(session, "task.due") == 1
    assert await _outbox(session, "cadence.overdue") == 1


async def _both_delivered(receiver: Receiver) -> bool:
    kinds = [r.json["type"] for r in receiver.received]
    return "task.due" in kinds and "cadence.overdue" in kinds
