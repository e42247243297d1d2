"""Random trigger sequences against the default pipeline keep the stage history consistent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models.accounts import Account, BuyingRole
from app.models.auth import Role
from app.models.handoff import StageEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.handoff.factories import default_pipeline, entry_of, events_of, log_activity
from tests.support import Api, Caller

TRIGGERS = ["qualify", "handoff", "win", "lose", "reopen", "bogus"]
FIXES = ["industry", "decision_maker", "activity"]
steps = st.lists(st.sampled_from(TRIGGERS + FIXES), min_size=1, max_size=10)


async def _fix(api: Api, account: Account, fix: str) -> None:
    if fix == "industry":
        account.industry = "Retail"
        await api.session.commit()
    elif fix == "decision_maker":
        await create_contact(api.session, account, role=BuyingRole.DECISION_MAKER)
    else:
        await log_activity(api.session, account.id, datetime.now(UTC) - timedelta(days=3))


async def _fire(api: Api, caller: Caller, account: Account, trigger: str) -> dict[str, Any]:
    handoff = {"reason": "ready", "benefit": "one contact", "toOwnerId": caller.id}
    variables = {
        "input": {
            "accountId": to_global_id("Account", account.id),
            "trigger": trigger,
            **(handoff if trigger == "handoff" else {}),
        }
    }
    data = await api.op("TransitionAccount", variables, caller=caller)
    result: dict[str, Any] = data["transitionAccount"]
    return result


def _check_chain(events: list[StageEvent]) -> None:
    assert events[0].from_stage is None
    assert events[0].trigger == "enter"
    for previous, event in pairwise(events):
        assert event.from_stage == previous.to_stage
        assert event.occurred_at >= previous.occurred_at
        assert event.seconds_in_previous_stage is not None
        assert event.seconds_in_previous_stage >= 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(sequence=steps)
async def test_random_trigger_sequences_keep_the_invariants(api: Api, sequence: list[str]) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, name="Random")
    pipeline = await default_pipeline(api.session)
    for step in sequence:
        if step in FIXES:
            await _fix(api, account, step)
            continue
        before = await events_of(api.session, account.id)
        result = await _fire(api, manager, account, step)
        after = await events_of(api.session, account.id)
        if result["errors"]:
            assert result["errors"][0]["code"] in {"INVALID_TRANSITION", "GATE_BLOCKED"}
            assert [e.id for e in after] == [e.id for e in before]
        else:
            assert len(after) == len(before) + 1
            assert after[-1].trigger == step
            assert result["event"]["toStage"] == after[-1].to_stage
        entry = await entry_of(api.session, account.id, pipeline.id)
        assert entry.stage == after[-1].to_stage
        assert entry.entered_at == after[-1].occurred_at
        _check_chain(after)
