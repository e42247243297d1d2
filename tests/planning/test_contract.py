"""Every operation of contract/planning.graphql, run as written over HTTP, with known answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from app.models.accounts import BuyingRole
from app.models.activities import ActivityKind
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.planning import AccountPlan, PlanStatus
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.planning.factories import at, create_activity, create_plan
from tests.support import Api


def gid(type_name: str, pk: int) -> str:
    return to_global_id(type_name, pk)


async def test_create_plan_computes_every_figure(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    sponsor = await api.caller(Role.ADMIN)
    acme = await create_account(api.session, "Acme")
    other = await create_account(api.session, "Other")
    inside = [
        ("1000.00", at(2024, 3, 10), ActivityKind.INVOICE),
        ("250.50", datetime(2024, 12, 31, 23, 59, tzinfo=UTC), ActivityKind.PARTS_PURCHASE),
        ("300.25", datetime(2024, 1, 1, tzinfo=UTC), ActivityKind.SERVICE_ORDER),
    ]
    outside = [
        ("999.00", datetime(2023, 12, 31, 23, 59, 59, tzinfo=UTC), ActivityKind.INVOICE),
        ("500.00", datetime(2025, 1, 1, tzinfo=UTC), ActivityKind.INVOICE),
        ("700.00", at(2024), ActivityKind.CALL_OUTBOUND),
        ("400.00", at(2024), ActivityKind.QUOTE),
        (None, at(2024), ActivityKind.INVOICE),
    ]
    for amount, when, kind in inside + outside:
        await create_activity(api.session, acme, amount, when, kind)
    await create_activity(api.session, other, "5000.00", at(2024))
    variables = {
        "input": {
            "accountId": gid("Account", acme.id),
            "periodStart": "2025-01-01",
            "periodEnd": "2025-12-31",
            "executiveSponsorId": sponsor.id,
            "growthTargetPct": "12.5",
            "plannedNetNew": "200",
            "priceChangePct": "3",
            "churnRate": 0.1,
            "satisfaction": 8,
            "reviewFrequencyDays": 30,
            "renewalDate": "2025-11-30",
        }
    }

    result = (await api.op("CreatePlan", variables, caller=manager))["createPlan"]

    assert result["errors"] == []
    plan = result["plan"]
    next_review = datetime.fromisoformat(plan.pop("nextReviewAt"))
    assert abs(next_review - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    assert plan == {
        "id": plan["id"],
        "status": "DRAFT",
        "periodStart": "2025-01-01",
        "periodEnd": "2025-12-31",
        "version": 1,
        "growthTargetPct": "12.50",
        "baselineRevenue": "1550.75",
        "targetRevenue": "1744.59",
        "plannedNetNew": "200.00",
        "priceChangePct": "3.00",
        "churnRate": 0.1,
        "forecastRevenue": "1637.55",
        "gap": "107.04",
        "satisfaction": 8,
        "reviewFrequencyDays": 30,
        "renewalDate": "2025-11-30",
        "account": {"id": gid("Account", acme.id)},
        "owner": {"id": manager.id},
        "executiveSponsor": {"id": sponsor.id},
    }
    audit = await api.session.scalar(
        select(AuditEntry.action).where(AuditEntry.entity_type == "AccountPlan")
    )
    assert audit == "plan.create"


async def test_plan_without_revenue_history_forecasts_only_net_new(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "New Co")
    variables = {
        "input": {
            "accountId": gid("Account", acme.id),
            "periodStart": "2025-01-01",
            "periodEnd": "2025-12-31",
            "growthTargetPct": "50",
            "plannedNetNew": "5000",
        }
    }

    plan = (await api.op("CreatePlan", variables, caller=manager))["createPlan"]["plan"]

    assert plan["baselineRevenue"] == "0.00"
    assert plan["targetRevenue"] == "0.00"
    assert plan["churnRate"] == 0.0
    assert plan["forecastRevenue"] == "5000.00"
    assert plan["gap"] == "-5000.00"


async def test_update_plan_recomputes_and_checks_version(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    await create_activity(api.session, acme, "1000.00", at(2024))
    plan = await create_plan(api.session, acme, churn_rate=0)
    update = {
        "id": gid("AccountPlan", plan.id),
        "expectedVersion": 1,
        "growthTargetPct": "20",
        "plannedNetNew": "100",
        "priceChangePct": "-10",
        "churnRate": 0.25,
        "satisfaction": 3,
    }

    result = (await api.op("UpdatePlan", {"input": update}, caller=manager))["updatePlan"]

    assert result["errors"] == []
    assert result["plan"] == {
        "id": gid("AccountPlan", plan.id),
        "version": 2,
        "growthTargetPct": "20.00",
        "plannedNetNew": "100.00",
        "priceChangePct": "-10.00",
        "churnRate": 0.25,
        "forecastRevenue": "775.00",
        "targetRevenue": "1200.00",
        "gap": "425.00",
        "satisfaction": 3,
    }
    stale = (await api.op("UpdatePlan", {"input": update}, caller=manager))["updatePlan"]
    assert stale["plan"] is None
    assert [(e["code"], e["field"]) for e in stale["errors"]] == [("CONFLICT", "expectedVersion")]
    version = await api.session.scalar(select(AccountPlan.version).where(AccountPlan.id == plan.id))
    assert version == 2


async def test_goals_actions_white_space_and_review(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    acme = await create_account(api.session, "Acme")
    plan = await create_plan(api.session, acme, review_frequency_days=14)
    plan_id = gid("AccountPlan", plan.id)

    goal = (
        await api.op(
            "AddPlanGoal",
            {
                "input": {
                    "planId": plan_id,
                    "title": "Win the north site",
                    "metric": "revenue",
                    "target": "25000",
                    "due": "2025-06-30",
                }
            },
            caller=manager,
        )
    )["addPlanGoal"]
    action = (
        await api.op(
            "AddActionItem",
            {
                "input": {
                    "planId": plan_id,
                    "title": "Call the CFO",
                    "ownerId": rep.id,
                    "due": "2025-02-01",
                }
            },
            caller=manager,
        )
    )["addActionItem"]
    space = (
        await api.op(
            "AddWhiteSpace",
            {
                "input": {
                    "planId": plan_id,
                    "kind": "DIVISION",
                    "description": "Forestry division buys elsewhere",
                    "estimatedValue": "12000.5",
                }
            },
            caller=manager,
        )
    )["addWhiteSpace"]

    assert goal["errors"] == action["errors"] == space["errors"] == []
    assert goal["goal"] == {
        "id": goal["goal"]["id"],
        "title": "Win the north site",
        "metric": "revenue",
        "target": "25000.00",
        "due": "2025-06-30",
        "status": "OPEN",
    }
    assert action["action"] == {
        "id": action["action"]["id"],
        "title": "Call the CFO",
        "due": "2025-02-01",
        "status": "OPEN",
        "owner": {"id": rep.id},
    }
    assert space["whiteSpace"] == {
        "id": space["whiteSpace"]["id"],
        "kind": "DIVISION",
        "description": "Forestry division buys elsewhere",
        "estimatedValue": "12000.50",
        "status": "IDENTIFIED",
    }

    done = (
        await api.op(
            "CompleteActionItem", {"input": {"id": action["action"]["id"]}}, caller=manager
        )
    )["completeActionItem"]
    assert done["errors"] == []
    assert done["action"]["status"] == "DONE"
    assert done["action"]["completedAt"] is not None
    again = (
        await api.op(
            "CompleteActionItem", {"input": {"id": action["action"]["id"]}}, caller=manager
        )
    )["completeActionItem"]
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("INVALID_TRANSITION", "id")]

    review = (
        await api.op(
            "RecordReview", {"input": {"planId": plan_id, "notes": "On track"}}, caller=manager
        )
    )["recordReview"]
    assert review["errors"] == []
    reviewed = datetime.fromisoformat(review["plan"]["lastReviewedAt"])
    assert datetime.fromisoformat(review["plan"]["nextReviewAt"]) - reviewed == timedelta(days=14)
    actions = await api.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.like("plan.%")).order_by(AuditEntry.id)
    )
    assert list(actions) == [
        "plan.create",
        "plan.goal.add",
        "plan.action.add",
        "plan.white_space.add",
        "plan.action.complete",
        "plan.review",
    ]

    detail = (await api.op("AccountPlanning", {"id": gid("Account", acme.id)}, caller=rep))["node"]
    assert [p["id"] for p in detail["plans"]] == [plan_id]
    assert detail["plans"][0]["goals"] == [goal["goal"]]
    assert detail["plans"][0]["actions"] == [{**action["action"], "status": "DONE"}]
    assert detail["plans"][0]["whiteSpace"] == [space["whiteSpace"]]


async def test_account_planning_rolls_up_three_levels(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    now = datetime.now(UTC)
    top = await create_account(api.session, "Top")
    middle = await create_account(api.session, "Middle", parent_id=top.id)
    bottom = await create_account(api.session, "Bottom", parent_id=middle.id)
    sibling = await create_account(api.session, "Sibling", parent_id=top.id)
    unrelated = await create_account(api.session, "Unrelated")
    for account, amount, days in [
        (top, "100.00", 30),
        (middle, "200.00", 60),
        (bottom, "300.00", 100),
        (sibling, "50.00", 200),
        (bottom, "1000.00", 400),
        (unrelated, "9999.00", 10),
    ]:
        await create_activity(api.session, account, amount, now - timedelta(days=days))
    await create_activity(api.session, top, "77.00", now - timedelta(days=5), ActivityKind.MEETING)
    start = now.date() - timedelta(days=10)
    end = now.date() + timedelta(days=300)
    active: dict[str, Any] = {
        "start": start,
        "end": end,
        "status": PlanStatus.ACTIVE,
        "churn_rate": 0,
    }
    top_plan = await create_plan(api.session, top, planned_net_new=25, **active)
    await create_plan(api.session, bottom, **active)
    await create_plan(api.session, middle, start=start, end=end, churn_rate=0)  # a draft
    dora = await create_contact(api.session, top, "Dora", BuyingRole.DECISION_MAKER)
    ivan = await create_contact(api.session, bottom, "Ivan", BuyingRole.INFLUENCER)
    await create_contact(api.session, middle, "Cham", BuyingRole.CHAMPION)

    node = (await api.op("AccountPlanning", {"id": gid("Account", top.id)}, caller=manager))["node"]

    assert node["rollup"] == {
        "revenueLast12Months": "650.00",
        "branchCount": 3,
        "forecastRevenue": "425.00",
    }
    assert node["contactMap"] == {
        "gaps": ["COACH"],
        "decisionMakers": [{"id": gid("Contact", dora.id), "name": "Dora"}],
        "influencers": [{"id": gid("Contact", ivan.id), "name": "Ivan"}],
        "coaches": [],
    }
    assert [(p["id"], p["baselineRevenue"], p["forecastRevenue"]) for p in node["plans"]] == [
        (gid("AccountPlan", top_plan.id), "100.00", "125.00")
    ]
    own = """query($id: ID!) { node(id: $id) { ... on Account {
        rollup { revenueLast12Months branchCount forecastRevenue }
        contactMap { gaps decisionMakers { name } } } } }"""
    middle_node = (await api.data(own, {"id": gid("Account", middle.id)}, caller=manager))["node"]
    assert middle_node["rollup"] == {
        "revenueLast12Months": "500.00",
        "branchCount": 1,
        "forecastRevenue": "300.00",
    }
    assert middle_node["contactMap"] == {
        "gaps": ["DECISION_MAKER", "INFLUENCER", "COACH"],
        "decisionMakers": [],
    }


async def test_reviews_and_renewals_due_soonest_first(api: Api) -> None:
    rep = await api.caller(Role.REP)
    acme = await create_account(api.session, "Acme")
    today = datetime.now(UTC).date()
    soon = await create_plan(api.session, acme, review_frequency_days=5)
    await create_plan(api.session, acme, review_frequency_days=30)
    overdue = await create_plan(api.session, acme, review_frequency_days=1)
    overdue.next_review_at = datetime.now(UTC) - timedelta(days=3)
    closed = await create_plan(
        api.session, acme, start=date(2020, 1, 1), end=date(2020, 12, 31), review_frequency_days=1
    )
    closed.status = PlanStatus.CLOSED
    renew = {}
    for days in (80, 10, 100, -1):
        renew[days] = await create_plan(
            api.session, acme, renewal_date=today + timedelta(days=days)
        )
    closed_renewal = await create_plan(api.session, acme, renewal_date=today + timedelta(days=2))
    closed_renewal.status = PlanStatus.CLOSED
    await api.session.commit()

    data = await api.op("ReviewsDue", {"withinDays": 7}, caller=rep)

    reviews = data["plansDueForReview"]
    assert reviews["totalCount"] == 2
    assert [e["node"]["id"] for e in reviews["edges"]] == [
        gid("AccountPlan", overdue.id),
        gid("AccountPlan", soon.id),
    ]
    assert reviews["edges"][0]["node"]["account"] == {"id": gid("Account", acme.id), "name": "Acme"}
    renewals = data["renewalsDue"]
    assert renewals["totalCount"] == 2
    assert [(e["node"]["id"], e["node"]["renewalDate"]) for e in renewals["edges"]] == [
        (gid("AccountPlan", renew[10].id), (today + timedelta(days=10)).isoformat()),
        (gid("AccountPlan", renew[80].id), (today + timedelta(days=80)).isoformat()),
    ]
    count = await api.session.scalar(select(func.count()).select_from(AccountPlan))
    assert count == 9
