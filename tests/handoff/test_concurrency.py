"""One transition at a time per entry: concurrent moves race on the entry's row lock."""

from __future__ import annotations

import asyncio
from collections import Counter

from app.handoff import service
from app.handoff.definition import PipelineDef, StageDef, TransitionDef
from app.kit.actor import SYSTEM
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import default_pipeline, entry_of, events_of
from tests.support import Api, contract_operations


async def test_twenty_concurrent_loses_move_once(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session)
    body = {
        "query": contract_operations()["TransitionAccount"],
        "variables": {
            "input": {"accountId": to_global_id("Account", account.id), "trigger": "lose"}
        },
    }
    headers = {"Authorization": f"Bearer {manager.token}"}

    async def lose() -> list[str]:
        response = await api.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        errors = response.json()["data"]["transitionAccount"]["errors"]
        return [error["code"] for error in errors]

    results = await asyncio.gather(*(lose() for _ in range(20)))

    assert Counter(tuple(codes) for codes in results) == {
        (): 1,
        ("INVALID_TRANSITION",): 19,
    }
    events = await events_of(api.session, account.id)
    assert [(e.from_stage, e.to_stage) for e in events] == [
        (None, "PROSPECT"),
        ("PROSPECT", "LOST"),
    ]
    entry = await entry_of(api.session, account.id, (await default_pipeline(api.session)).id)
    assert entry.stage == "LOST"


async def test_a_move_waits_for_a_redefinition_and_uses_it(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session)
    pipeline = await default_pipeline(api.session)
    definition = PipelineDef.from_json(pipeline.stages, pipeline.transitions)
    parked = StageDef("PARKED", "Parked")
    park = TransitionDef("park", ("PROSPECT",), "PARKED")
    await service.define_pipeline(
        api.session,
        actor=SYSTEM,
        key="default",
        name="Default",
        stages=[*definition.stages, parked],
        transitions=[*definition.transitions, park],
    )
    variables = {"input": {"accountId": to_global_id("Account", account.id), "trigger": "park"}}
    move = asyncio.create_task(api.op("TransitionAccount", variables, caller=manager))
    await asyncio.sleep(0.5)
    assert not move.done()

    await api.session.commit()

    result = (await move)["transitionAccount"]
    assert result["errors"] == []
    assert result["entry"]["stage"] == "PARKED"
