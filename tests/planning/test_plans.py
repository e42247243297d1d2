"""The plan status machine, overlap, bad input and roles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select

from app.__main__ import ROOT
from app.models.accounts import Account
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.planning import AccountPlan, PlanAction, PlanGoal, PlanStatus, WhiteSpace
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import assign, create_activity, create_plan
from tests.support import Api, Caller


def errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def set_status(api: Api, plan_id: int, status: str, caller: Caller) -> dict[str, Any]:
    variables = {"input": {"id": to_global_id("AccountPlan", plan_id), "status": status}}
    payload: dict[str, Any] = (await api.op("SetPlanStatus", variables, caller=caller))[
        "setPlanStatus"
    ]
    return payload


async def written(api: Api) -> tuple[int | None, ...]:
    counts = []
    for model in (AccountPlan, PlanGoal, PlanAction, WhiteSpace, AuditEntry):
        counts.append(await api.session.scalar(select(func.count()).select_from(model)))
    return tuple(counts)


async def test_status_machine(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    plan = await create_plan(api.session, acme)

    moves = [
        ("DRAFT", "INVALID_TRANSITION"),
        ("CLOSED", "INVALID_TRANSITION"),
        ("ACTIVE", None),
        ("ACTIVE", "INVALID_TRANSITION"),
        ("DRAFT", None),
        ("ACTIVE", None),
        ("CLOSED", None),
        ("ACTIVE", "INVALID_TRANSITION"),
        ("DRAFT", "INVALID_TRANSITION"),
    ]
    seen = []
    for target, _ in moves:
        payload = await set_status(api, plan.id, target, manager)
        seen.append((target, payload["errors"][0]["code"] if payload["errors"] else None))

    assert seen == moves
    row = await api.session.execute(
        select(AccountPlan.status, AccountPlan.version).where(AccountPlan.id == plan.id)
    )
    assert tuple(row.one()) == (PlanStatus.CLOSED, 5)
    changes = await api.session.scalars(
        select(AuditEntry.changes).where(AuditEntry.action == "plan.status").order_by(AuditEntry.id)
    )
    assert [c["status"]["after"] for c in changes] == ["ACTIVE", "DRAFT", "ACTIVE", "CLOSED"]
    update = {"input": {"id": to_global_id("AccountPlan", plan.id), "growthTargetPct": "1"}}
    closed = (await api.op("UpdatePlan", update, caller=manager))["updatePlan"]
    assert errors(closed) == [("INVALID_TRANSITION", "id")]


async def test_one_active_plan_per_account_and_period(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    other = await create_account(api.session, "Other")
    first = await create_plan(api.session, acme, status=PlanStatus.ACTIVE)
    overlapping = await create_plan(
        api.session, acme, start=date(2025, 12, 31), end=date(2026, 6, 30)
    )
    next_year = await create_plan(api.session, acme, start=date(2026, 1, 1), end=date(2026, 12, 31))
    elsewhere = await create_plan(api.session, other)

    blocked = await set_status(api, overlapping.id, "ACTIVE", manager)

    assert errors(blocked) == [("PLAN_OVERLAP", "status")]
    assert blocked["plan"] is None
    assert (await set_status(api, next_year.id, "ACTIVE", manager))["errors"] == []
    assert (await set_status(api, elsewhere.id, "ACTIVE", manager))["errors"] == []
    status = await api.session.scalar(
        select(AccountPlan.status).where(AccountPlan.id == overlapping.id)
    )
    assert status is PlanStatus.DRAFT
    assert (await set_status(api, first.id, "CLOSED", manager))["errors"] == []
    still = await set_status(api, overlapping.id, "ACTIVE", manager)
    assert errors(still) == [("PLAN_OVERLAP", "status")]
    assert (await set_status(api, next_year.id, "DRAFT", manager))["errors"] == []
    assert (await set_status(api, overlapping.id, "ACTIVE", manager))["errors"] == []


BAD_CREATE = [
    ({"periodEnd": "2025-01-01"}, "INVALID_INPUT", "periodEnd"),
    ({"periodEnd": "2024-12-31"}, "INVALID_INPUT", "periodEnd"),
    ({"growthTargetPct": "1000.01"}, "INVALID_INPUT", "growthTargetPct"),
    ({"growthTargetPct": "-100.01"}, "INVALID_INPUT", "growthTargetPct"),
    ({"growthTargetPct": "NaN"}, "INVALID_INPUT", "growthTargetPct"),
    ({"growthTargetPct": "9" * 60}, "INVALID_INPUT", "growthTargetPct"),
    ({"plannedNetNew": "9" * 60}, "INVALID_INPUT", "plannedNetNew"),
    ({"plannedNetNew": "-0.01"}, "INVALID_INPUT", "plannedNetNew"),
    ({"churnRate": 1.01}, "INVALID_INPUT", "churnRate"),
    ({"churnRate": -0.1}, "INVALID_INPUT", "churnRate"),
    ({"satisfaction": 11}, "INVALID_INPUT", "satisfaction"),
    ({"satisfaction": -1}, "INVALID_INPUT", "satisfaction"),
    ({"reviewFrequencyDays": 0}, "INVALID_INPUT", "reviewFrequencyDays"),
    ({"reviewFrequencyDays": 367}, "INVALID_INPUT", "reviewFrequencyDays"),
    ({"ownerId": to_global_id("User", 999999)}, "NOT_FOUND", "ownerId"),
    ({"executiveSponsorId": to_global_id("User", 999999)}, "NOT_FOUND", "executiveSponsorId"),
    ({"accountId": to_global_id("Account", 999999)}, "NOT_FOUND", "accountId"),
    ({"accountId": to_global_id("User", 1)}, "NOT_FOUND", "accountId"),
]


@pytest.mark.parametrize(("change", "code", "field"), BAD_CREATE)
async def test_bad_plan_input_names_the_field_and_writes_nothing(
    api: Api, change: dict[str, Any], code: str, field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    before = await written(api)
    input = {
        "accountId": to_global_id("Account", acme.id),
        "periodStart": "2025-01-01",
        "periodEnd": "2025-12-31",
        "growthTargetPct": "10",
        **change,
    }

    payload = (await api.op("CreatePlan", {"input": input}, caller=manager))["createPlan"]

    assert payload["plan"] is None
    assert errors(payload) == [(code, field)]
    assert await written(api) == before


async def test_bad_input_on_plan_items_writes_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    acme = await create_account(api.session, "Acme")
    plan = await create_plan(api.session, acme)
    plan_id = to_global_id("AccountPlan", plan.id)
    before = await written(api)
    cases = [
        ("UpdatePlan", {"id": plan_id, "satisfaction": 42}, "satisfaction"),
        ("UpdatePlan", {"id": plan_id, "growthTargetPct": None}, "growthTargetPct"),
        ("UpdatePlan", {"id": plan_id, "ownerId": to_global_id("User", 999999)}, "ownerId"),
        ("AddPlanGoal", {"planId": plan_id, "title": "  "}, "title"),
        ("AddPlanGoal", {"planId": to_global_id("AccountPlan", 999999), "title": "x"}, "planId"),
        (
            "AddActionItem",
            {"planId": plan_id, "title": "x", "ownerId": to_global_id("User", 999999)},
            "ownerId",
        ),
        (
            "AddWhiteSpace",
            {"planId": plan_id, "kind": "PRODUCT", "description": "x", "estimatedValue": "-1"},
            "estimatedValue",
        ),
        ("AddWhiteSpace", {"planId": plan_id, "kind": "PRODUCT", "description": ""}, "description"),
        ("RecordReview", {"planId": to_global_id("AccountPlan", 999999)}, "planId"),
        ("CompleteActionItem", {"id": to_global_id("ActionItem", 999999)}, "id"),
    ]
    found = []
    for name, input, _ in cases:
        data = await api.op(name, {"input": input}, caller=manager)
        payload = next(iter(data.values()))
        found.append([e["field"] for e in payload["errors"]])

    assert found == [[field] for _, _, field in cases]
    assert await written(api) == before


async def test_rep_plans_only_assigned_accounts(api: Api) -> None:
    rep = await api.caller(Role.REP)
    mine = await create_account(api.session, "Mine")
    theirs = await create_account(api.session, "Theirs")
    await assign(api.session, rep.user_id, mine)
    their_plan = await create_plan(api.session, theirs)
    before = await written(api)

    def create(account_id: int) -> dict[str, Any]:
        return {
            "input": {
                "accountId": to_global_id("Account", account_id),
                "periodStart": "2025-01-01",
                "periodEnd": "2025-12-31",
                "growthTargetPct": "5",
            }
        }

    refused = (await api.op("CreatePlan", create(theirs.id), caller=rep))["createPlan"]
    goal = {"input": {"planId": to_global_id("AccountPlan", their_plan.id), "title": "x"}}
    refused_goal = (await api.op("AddPlanGoal", goal, caller=rep))["addPlanGoal"]
    refused_status = await set_status(api, their_plan.id, "ACTIVE", rep)

    assert (
        errors(refused) == errors(refused_goal) == errors(refused_status) == [("FORBIDDEN", None)]
    )
    assert await written(api) == before
    accepted = (await api.op("CreatePlan", create(mine.id), caller=rep))["createPlan"]
    assert accepted["errors"] == []
    assert accepted["plan"]["owner"] == {"id": rep.id}


async def test_integration_has_no_planning(api: Api) -> None:
    bot = await api.caller(Role.INTEGRATION)
    acme = await create_account(api.session, "Acme")
    await create_plan(api.session, acme)
    before = await written(api)
    input = {
        "accountId": to_global_id("Account", acme.id),
        "periodStart": "2026-01-01",
        "periodEnd": "2026-12-31",
        "growthTargetPct": "5",
    }

    refused = (await api.op("CreatePlan", {"input": input}, caller=bot))["createPlan"]
    planning = await api.gql(
        "query($id: ID!) { node(id: $id) { ... on Account { plans { id } } } }",
        {"id": to_global_id("Account", acme.id)},
        caller=bot,
    )
    due = await api.gql("{ plansDueForReview { totalCount } }", caller=bot)

    assert errors(refused) == [("FORBIDDEN", None)]
    assert planning["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert due["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await written(api) == before


@pytest.mark.parametrize(
    "operation",
    [
        "query { churnEstimate { byCount } }",
        'query { forecast(groupBy: OWNER, periodStart: "2025-01-01") { key } }',
        "query { classificationSuggestions { totalCount } }",
    ],
)
async def test_reports_are_for_managers(api: Api, operation: str) -> None:
    rep = await api.caller(Role.REP)
    manager = await api.caller(Role.MANAGER)

    refused = await api.gql(operation, caller=rep)

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "errors" not in await api.gql(operation, caller=manager)


async def test_apply_classification_is_for_managers(api: Api) -> None:
    rep = await api.caller(Role.REP)
    acme = await create_account(api.session, "Acme")
    await create_activity(api.session, acme, "10.00", datetime.now(UTC))

    payload = (await api.op("ApplyClassification", {"input": {}}, caller=rep))[
        "applyClassification"
    ]

    assert errors(payload) == [("FORBIDDEN", None)]
    classified = select(AuditEntry.id).where(AuditEntry.action == "account.classify")
    assert await api.session.scalar(classified) is None
    assert await api.session.scalar(select(Account.classification)) is None


def test_migrations_match_models(pg_dir: Path, database_url: str) -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["skip_logging"] = True
    command.check(config)
