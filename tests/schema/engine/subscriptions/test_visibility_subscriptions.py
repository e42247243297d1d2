"""A REP is told only about accounts the record visibility lets them read (subscriptions)."""

from __future__ import annotations

import asyncio

import pytest

from app.models.teams import RecordVisibility
from schema.relay import to_global_id
from tests.schema.engine.subscriptions.client import WsClient
from tests.schema.engine.subscriptions.events import log_activity
from tests.support import Api
from tests.teams.town import VISIBLE, build, set_visibility


@pytest.mark.parametrize("visibility", list(RecordVisibility), ids=lambda v: v.value)
async def test_activity_logged_tells_a_rep_only_of_visible_accounts(
    api: Api, ws_url: str, visibility: RecordVisibility
) -> None:
    town = await build(api)
    await set_visibility(api, visibility)
    names = {to_global_id("Account", a.id): name for name, a in town.accounts.items()}
    async with WsClient(ws_url, town.rhea) as ws:
        await ws.acked()
        await ws.subscribe("a", "ActivityLogged", {"accountId": None})
        await asyncio.sleep(0.3)  # the subscription is listening
        for name in VISIBLE[RecordVisibility.ALL]:
            await log_activity(api.session, town.accounts[name].id, summary=name)
        heard = []
        for _ in VISIBLE[visibility]:
            data = await ws.next_data("a")
            heard.append(names[data["activityLogged"]["account"]["id"]])
        assert await ws.silent(0.5)
    assert heard == VISIBLE[visibility]
