"""Every operation of contract/reports.graphql, exactly as written, through the ASGI app."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Classification
from app.models.auth import Role
from app.models.planning import PlanStatus
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon
from tests.handoff.factories import default_pipeline
from tests.planning.factories import at, create_activity, create_plan
from tests.reports.factories import DAY, event, jan, set_entry
from tests.support import Api, contract_operations

JANUARY = {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}


async def test_coverage(api: Api, session: AsyncSession) -> None:
    rep = await api.caller(Role.REP, name="Rep")
    manager = await api.caller(Role.MANAGER)
    account = await create_account(session, "Acme", classification=Classification.C)
    await log(session, account_id=account.id, occurred_at=noon(3))
    # Started today: the contact three days ago is outside its balance window (a deficit),
    # but it is one of the account's contacts in the last 365 days.
    await create_assignment(session, account_id=account.id, user_id=rep.user_id, frequency=5)
    variables = {"groupBy": ["USER", "CLASSIFICATION"], "filter": {"classification": ["C"]}}
    data = await api.op("Coverage", variables, caller=manager)
    assert data["coverageReport"] == [
        {
            "user": {"id": rep.id, "name": "Rep"},
            "managerType": None,
            "classification": "C",
            "assignments": 1,
            "onTrack": 0,
            "dueSoon": 1,
            "overdue": 0,
            "overdueShare": 0.0,
            "surplus": 0,
            "balanced": 0,
            "deficit": 1,
            "contactsPerAccountLast365Days": 1.0,
        }
    ]


async def test_throughput_by_owner_and_trend(api: Api, session: AsyncSession) -> None:
    rep = await api.caller(Role.REP, name="Rep")
    admin = await api.caller(Role.ADMIN)
    pipeline = await default_pipeline(session)
    account = await create_account(session, "Acme")
    session.add_all(
        [
            event(pipeline, account.id, (None, "PROSPECT"), jan(1), (None, rep.user_id)),
            event(
                pipeline,
                account.id,
                ("PROSPECT", "LOST"),
                jan(3),
                (rep.user_id, rep.user_id),
                2 * DAY,
            ),
        ]
    )
    await session.commit()
    data = await api.op("ThroughputByOwner", {**JANUARY, "pipeline": "default"}, caller=admin)
    owner = {"id": rep.id, "name": "Rep"}
    assert data["stageThroughput"]["byOwner"] == [
        {
            "owner": owner,
            "stage": "PROSPECT",
            "entered": 1,
            "exited": 1,
            "medianSecondsInStage": 2 * DAY,
            "conversionRate": 0.0,
        },
        {
            "owner": owner,
            "stage": "LOST",
            "entered": 1,
            "exited": 0,
            "medianSecondsInStage": None,
            "conversionRate": None,
        },
    ]
    variables = {**JANUARY, "interval": "MONTH", "pipeline": None}
    data = await api.op("ThroughputTrend", variables, caller=admin)
    assert [(r["stage"], r["entered"], r["exited"]) for r in data["stageTrend"]] == [
        ("PROSPECT", 1, 1),
        ("QUALIFIED", 0, 0),
        ("OPPORTUNITY", 0, 0),
        ("CUSTOMER", 0, 0),
        ("LOST", 1, 0),
    ]
    assert {r["periodStart"] for r in data["stageTrend"]} == {"2025-01-01T00:00:00+00:00"}


async def test_stuck_entries(api: Api, session: AsyncSession) -> None:
    rep = await api.caller(Role.REP, name="Rep")
    manager = await api.caller(Role.MANAGER)
    account = await create_account(session, "Slow Co")
    await set_entry(session, account, stage="QUALIFIED", days_ago=45, owner_id=rep.user_id)
    variables = {"pipeline": "default", "olderThanDays": 30, "first": 10, "after": None}
    data = await api.op("StuckEntries", variables, caller=manager)
    found = data["stuckEntries"]
    assert found["totalCount"] == 1
    (edge,) = found["edges"]
    node = edge["node"]
    assert node["stage"] == "QUALIFIED"
    assert node["account"] == {"id": node["account"]["id"], "name": "Slow Co"}
    assert node["owner"] == {"id": rep.id, "name": "Rep"}
    assert 45 * DAY <= node["secondsInStage"] < 45 * DAY + 600


async def test_activity_mix(api: Api, session: AsyncSession) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(session, "Acme")
    await create_activity(session, account, None, jan(10))
    data = await api.op("ActivityMix", JANUARY, caller=manager)
    assert data["activityMix"] == [{"kind": "INVOICE", "count": 1, "accounts": 1, "share": 1.0}]


async def test_exposure_by_industry(api: Api, session: AsyncSession) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(session, "Acme", industry="Mining")
    await create_activity(session, account, "800", at(2024))
    await create_plan(
        session,
        account,
        start=date(2025, 3, 1),
        end=date(2026, 2, 28),
        status=PlanStatus.ACTIVE,
        growth_target_pct="25",
        churn_rate=0,
    )
    data = await api.op("ExposureByIndustry", {"periodStart": "2025-03-01"}, caller=manager)
    assert data["forecast"] == [
        {
            "key": "Mining",
            "accounts": 1,
            "baselineRevenue": "800.00",
            "forecastRevenue": "800.00",
            "targetRevenue": "1000.00",
            "gap": "200.00",
        }
    ]


async def test_reps_are_refused_every_report(api: Api) -> None:
    rep = await api.caller(Role.REP)
    operations: dict[str, dict[str, Any]] = {
        "Coverage": {"groupBy": ["USER"]},
        "ThroughputByOwner": JANUARY,
        "ThroughputTrend": {**JANUARY, "interval": "WEEK"},
        "StuckEntries": {"olderThanDays": 1},
        "ActivityMix": JANUARY,
        "ExposureByIndustry": {"periodStart": "2025-03-01"},
    }
    for name, variables in operations.items():
        result = await api.gql(contract_operations()[name], variables, caller=rep)
        assert result["data"] is None, name
        assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"], name
