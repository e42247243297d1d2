"""Subscriptions are priced as queries and pay for every event they deliver."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.models.auth import Role
from app.settings import Settings
from tests.handoff.factories import qualified_account
from tests.schema.engine.subscriptions.client import WsClient
from tests.schema.engine.subscriptions.events import log_activity
from tests.support import Api

# Three nested lists of contacts: 50 * 50 * 50 objects by the HTTP path's price.
DEEP = """
subscription Deep {
  activityLogged {
    id
    account { contacts { account { contacts { account { contacts { id } } } } } }
  }
}
"""
# No list: 2 (the activity and its account) per event, whatever a list is priced at.
CHEAP = "subscription Cheap { activityLogged { id account { id } } }"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A budget of 5 a minute: two events of CHEAP leave 1 (it drains 1/12 a second)."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE": "5"}
    return Settings.from_env(env)


async def test_a_subscription_over_the_cost_limit_is_refused_before_it_listens(
    api: Api, ws_url: str
) -> None:
    rep = await api.caller(Role.REP)
    account = await qualified_account(api.session, "Deep Co")
    async with WsClient(ws_url, rep) as ws:
        await ws.acked()
        await ws.subscribe_to("d", DEEP)
        await asyncio.sleep(0.3)
        await log_activity(api.session, account.id)
        message = await ws.receive()
        assert (message["type"], message["id"]) == ("error", "d"), message
        [error] = message["payload"]
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
        assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000
        assert await ws.silent(0.5)


async def test_each_delivered_event_is_charged_until_the_budget_is_spent(
    api: Api, ws_url: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await qualified_account(api.session, "Budget Co")
    async with WsClient(ws_url, manager) as ws:
        await ws.acked()
        await ws.subscribe_to("c", CHEAP)
        await asyncio.sleep(0.3)
        for _ in range(4):
            await log_activity(api.session, account.id)
        delivered = [(await ws.next_data("c"))["activityLogged"] for _ in range(3)]
        assert len({d["id"] for d in delivered}) == 3  # spent: 0, 2, 4 before each; then 6
        refused = await ws.receive()
        assert (refused["type"], refused["id"]) == ("error", "c"), refused
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["RATE_LIMITED"]
        assert await ws.silent(0.5)  # the operation is over: no `complete`, no more events
        await ws.subscribe_to("again", CHEAP)
        again = await ws.receive()
        assert (again["type"], again["id"]) == ("error", "again"), again
        assert [e["extensions"]["code"] for e in again["payload"]] == ["RATE_LIMITED"]
