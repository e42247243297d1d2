"""stageThroughput and handoffReport on stage events with chosen times and known answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from app.models.auth import Role
from app.models.handoff import PipelineEntry, StageEvent
from tests.accounts.factories import create_account
from tests.handoff.factories import default_pipeline, insert_blocked, insert_events
from tests.support import Api

JAN = datetime(2025, 1, 1, tzinfo=UTC)
WINDOW = {"pipeline": "default", "from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}


def at(days: float = 0, seconds: float = 0) -> datetime:
    return JAN + timedelta(days=days, seconds=seconds)


async def _place(api: Api, account_id: int, stage: str) -> None:
    await api.session.execute(
        update(PipelineEntry).where(PipelineEntry.account_id == account_id).values(stage=stage)
    )
    await api.session.commit()


async def test_stage_throughput_known_answers(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    pipeline = await default_pipeline(api.session)
    a, b, c = [await create_account(api.session, name=n) for n in "ABC"]
    t1 = at(seconds=100)
    await insert_events(
        api.session,
        pipeline,
        a.id,
        [
            (None, "PROSPECT", at(days=-1)),
            ("PROSPECT", "QUALIFIED", t1),
            ("QUALIFIED", "OPPORTUNITY", t1 + timedelta(seconds=1000)),
            ("OPPORTUNITY", "CUSTOMER", t1 + timedelta(seconds=11000)),
        ],
        touches=[2, 1, 3],
    )
    await insert_events(
        api.session,
        pipeline,
        b.id,
        [(None, "PROSPECT", at(1)), ("PROSPECT", "LOST", at(1, 300))],
        touches=[0],
    )
    await insert_events(
        api.session,
        pipeline,
        c.id,
        [
            (None, "PROSPECT", at(2)),
            ("PROSPECT", "QUALIFIED", at(2, 200)),
            ("QUALIFIED", "LOST", at(2, 600)),
            ("LOST", "PROSPECT", at(40)),
        ],
        touches=[1, 0, 5],
    )
    for account, stage in ((a, "CUSTOMER"), (b, "LOST"), (c, "PROSPECT")):
        await _place(api, account.id, stage)

    data = await api.op("StageThroughput", WINDOW, caller=manager)

    report = data["stageThroughput"]
    assert report["pipeline"] == {"key": "default"}
    assert (report["from"], report["to"]) == (
        "2025-01-01T00:00:00+00:00",
        "2025-02-01T00:00:00+00:00",
    )
    assert report["stages"] == [
        _row("PROSPECT", 2, 3, 1, 300.0, 69260.0, 2 / 3, 1.0),
        _row("QUALIFIED", 2, 2, 0, 700.0, 940.0, 0.5, 0.5),
        _row("OPPORTUNITY", 1, 1, 0, 10000.0, 10000.0, 1.0, 3.0),
        _row("CUSTOMER", 1, 0, 1, None, None, None, None),
        _row("LOST", 2, 0, 1, None, None, None, None),
    ]


def _row(
    stage: str,
    entered: int,
    exited: int,
    current: int,
    median: float | None,
    p90: float | None,
    conversion: float | None,
    touches: float | None,
) -> dict[str, Any]:
    return {
        "stage": stage,
        "entered": entered,
        "exited": exited,
        "current": current,
        "medianSecondsInStage": median,
        "p90SecondsInStage": p90,
        "conversionRate": conversion,
        "touchesPerStay": touches,
    }


async def _handoff(
    api: Api, account_id: int, when: datetime, wait: float | None, missing: list[str]
) -> None:
    pipeline = await default_pipeline(api.session)
    api.session.add(
        StageEvent(
            account_id=account_id,
            pipeline_id=pipeline.id,
            from_stage="QUALIFIED",
            to_stage="OPPORTUNITY",
            trigger="handoff",
            is_handoff=True,
            occurred_at=when,
            missing_recommended=missing,
            seconds_in_previous_stage=60.0,
            accepted_at=None if wait is None else when + timedelta(seconds=wait),
        )
    )
    await api.session.commit()


async def test_handoff_report_known_answers(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    pipeline = await default_pipeline(api.session)
    account = await create_account(api.session)
    budget, timeline = "attribute:budget", "attribute:timeline"
    await _handoff(api, account.id, at(4), 3600, [budget, timeline])
    await _handoff(api, account.id, at(5), 7200, [timeline])
    await _handoff(api, account.id, at(6), None, [])
    await _handoff(api, account.id, at(7), 100, [timeline])
    await _handoff(api, account.id, at(40), 5, [budget])
    await insert_events(
        api.session,
        pipeline,
        account.id,
        [(None, "PROSPECT", at(8)), ("PROSPECT", "QUALIFIED", at(9))],
        missing_recommended=["field:website"],
    )
    dm, recent, industry = "contact_role:DECISION_MAKER", "activity_within:30", "field:industry"
    await insert_blocked(api.session, pipeline, account.id, [dm, recent], at(3))
    await insert_blocked(api.session, pipeline, account.id, [recent], at(10))
    await insert_blocked(api.session, pipeline, account.id, [industry], at(11))
    await insert_blocked(api.session, pipeline, account.id, [industry], at(60))

    data = await api.op("HandoffReport", WINDOW, caller=manager)

    assert data["handoffReport"] == {
        "handoffs": 4,
        "accepted": 3,
        "pending": 1,
        "medianSecondsToAccept": 3600.0,
        "missingRecommended": [
            {"requirement": timeline, "count": 3, "share": 0.75},
            {"requirement": budget, "count": 1, "share": 0.25},
        ],
        "blockedBy": [
            {"requirement": recent, "count": 2},
            {"requirement": dm, "count": 1},
            {"requirement": industry, "count": 1},
        ],
    }


async def test_reports_on_an_empty_range(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await create_account(api.session)
    data = await api.op("HandoffReport", WINDOW, caller=manager)
    assert data["handoffReport"] == {
        "handoffs": 0,
        "accepted": 0,
        "pending": 0,
        "medianSecondsToAccept": None,
        "missingRecommended": [],
        "blockedBy": [],
    }
    stages = (await api.op("StageThroughput", WINDOW, caller=manager))["stageThroughput"]["stages"]
    assert [(s["entered"], s["exited"], s["current"]) for s in stages] == [
        (0, 0, 1),
        (0, 0, 0),
        (0, 0, 0),
        (0, 0, 0),
        (0, 0, 0),
    ]


async def test_reports_reject_a_reversed_range_and_unknown_pipeline(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    reversed_range = {**WINDOW, "from": WINDOW["to"], "to": WINDOW["from"]}
    result = await api.gql(
        "query($from: DateTime!, $to: DateTime!) { stageThroughput(from: $from, to: $to) "
        "{ from } }",
        {"from": reversed_range["from"], "to": reversed_range["to"]},
        caller=manager,
    )
    assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "to"}
    result = await api.gql(
        'query($from: DateTime!, $to: DateTime!) { handoffReport(pipeline: "nope", '
        "from: $from, to: $to) { handoffs } }",
        {"from": WINDOW["from"], "to": WINDOW["to"]},
        caller=manager,
    )
    assert result["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "pipeline"}
