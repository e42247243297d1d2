"""Seed 004, "what actions your prospect takes": a gate that names activity kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.handoff import machine, requirements
from app.handoff.definition import PipelineDef, StageDef
from app.handoff.errors import InvalidPipelineError
from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from app.models.handoff import Pipeline
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import count_rows
from tests.support import Api

MEETING_OR_VISIT = "activity_within:14:MEETING,VISIT"
MET_IN_PERSON: dict[str, Any] = {
    "key": "field_sales",
    "name": "Field sales",
    "stages": [
        {"key": "OPEN", "name": "Open"},
        {"key": "MET", "name": "Met", "necessary": [MEETING_OR_VISIT]},
    ],
    "transitions": [{"trigger": "meet", "sources": ["OPEN"], "dest": "MET"}],
}


async def _activity(
    session: AsyncSession, account_id: int, kind: ActivityKind, days_ago: int, voided: bool = False
) -> None:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    session.add(
        Activity(account_id=account_id, kind=kind, occurred_at=at, voided_at=at if voided else None)
    )
    await session.commit()


async def _met(session: AsyncSession, account_id: int) -> set[str]:
    names = (MEETING_OR_VISIT, "activity_within:14", "activity_within:30:VISIT")
    facts = await requirements.evaluate(session, account_id, names, stay_began=datetime.now(UTC))
    return facts.met


async def test_only_the_named_kinds_within_the_days_pass(session: AsyncSession) -> None:
    account = await create_account(session, "Prospect")
    await _activity(session, account.id, ActivityKind.CALL_OUTBOUND, 2)
    await _activity(session, account.id, ActivityKind.MEETING, 3, voided=True)
    await _activity(session, account.id, ActivityKind.VISIT, 20)
    assert await _met(session, account.id) == {"activity_within:14", "activity_within:30:VISIT"}

    await _activity(session, account.id, ActivityKind.MEETING, 13)
    assert await _met(session, account.id) == {
        MEETING_OR_VISIT,
        "activity_within:14",
        "activity_within:30:VISIT",
    }


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "activity_within:14:MEETING,SEANCE",
            "unknown activity kind 'SEANCE' in 'activity_within:14:MEETING,SEANCE'",
        ),
        ("activity_within:14:", "unknown activity kind '' in 'activity_within:14:'"),
        ("activity_within:0:MEETING", "needs a number of days from 1 to 3650"),
        ("attribute:" + "x" * 100, "is longer than 100 characters"),
    ],
)
def test_a_bad_kind_is_refused_when_the_pipeline_is_defined(name: str, message: str) -> None:
    with pytest.raises(InvalidPipelineError) as raised:
        machine.build(PipelineDef(stages=(StageDef("A", "A", necessary=(name,)),), transitions=()))
    assert message in raised.value.message


async def test_define_pipeline_names_the_bad_requirement_and_stores_nothing(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    bad = {
        **MET_IN_PERSON,
        "stages": [
            {"key": "OPEN", "name": "Open", "necessary": ["activity_within:14:MEETING,TELEPATHY"]}
        ],
        "transitions": [],
    }
    data = (await api.op("DefinePipeline", {"input": bad}, caller=admin))["definePipeline"]
    assert data == {
        "pipeline": None,
        "errors": [
            {
                "code": "INVALID_PIPELINE",
                "message": "unknown activity kind 'TELEPATHY' in "
                "'activity_within:14:MEETING,TELEPATHY'",
                "field": "stages",
            }
        ],
    }
    assert await count_rows(api.session, Pipeline) == 1


async def test_the_gate_blocks_until_the_prospect_meets_in_person(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    data = await api.op("DefinePipeline", {"input": MET_IN_PERSON}, caller=admin)
    stages = data["definePipeline"]["pipeline"]["stages"]
    assert stages[1]["necessary"] == [MEETING_OR_VISIT]
    account = await create_account(api.session, "Prospect")
    enter = {"accountId": _gid(account.id), "pipeline": "field_sales"}
    assert (await api.op("EnterPipeline", {"input": enter}, caller=admin))["enterPipeline"][
        "errors"
    ] == []
    await _activity(api.session, account.id, ActivityKind.CALL_OUTBOUND, 1)
    await _activity(api.session, account.id, ActivityKind.EMAIL_SENT, 1)

    blocked = await _meet(api, admin, account.id)
    assert [(e["code"], e["missing"]) for e in blocked["errors"]] == [
        ("GATE_BLOCKED", [MEETING_OR_VISIT])
    ]
    await _activity(api.session, account.id, ActivityKind.VISIT, 5)
    moved = await _meet(api, admin, account.id)
    assert moved["errors"] == []
    assert moved["entry"]["stage"] == "MET"


def _gid(pk: int) -> str:
    return to_global_id("Account", pk)


async def _meet(api: Api, caller: Any, pk: int) -> dict[str, Any]:
    variables = {"input": {"accountId": _gid(pk), "trigger": "meet", "pipeline": "field_sales"}}
    result: dict[str, Any] = (await api.op("TransitionAccount", variables, caller=caller))[
        "transitionAccount"
    ]
    return result
