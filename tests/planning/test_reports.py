"""Known answers for churnEstimate, forecast and classification (contract operations)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.pagination import PageArgs
from app.models.accounts import Account, Classification
from app.models.activities import ActivityKind
from app.models.audit import AuditEntry
from app.models.auth import Role
from app.models.planning import PlanStatus
from app.planning import segments, window
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import at, create_activity, create_plan
from tests.support import Api, Caller

LAST = datetime.now(UTC).year - 1  # the last complete calendar year


async def _churn_history(api: Api) -> dict[str, Account]:
    """A buys every year; B stops after LAST-3; C skips LAST-1; D starts in LAST-1."""
    accounts = {name: await create_account(api.session, name) for name in "ABCDE"}
    history = [
        ("A", LAST - 3, "100"),
        ("A", LAST - 2, "100"),
        ("A", LAST - 1, "100"),
        ("A", LAST, "100"),
        ("B", LAST - 3, "300"),
        ("C", LAST - 2, "150"),
        ("C", LAST - 2, "50"),
        ("C", LAST, "50"),
        ("D", LAST - 1, "400"),
        ("D", LAST, "10"),
        ("E", LAST - 1, "0"),  # an invoice of nothing makes no customer
        ("B", LAST + 1, "999"),  # the current, incomplete year is not counted
    ]
    for name, year, amount in history:
        await create_activity(api.session, accounts[name], amount, at(year))
    await create_activity(
        api.session, accounts["B"], "500", at(LAST - 2), ActivityKind.CALL_INBOUND
    )
    return accounts


async def test_churn_estimate_known_answer(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _churn_history(api)

    churn = (await api.op("ChurnEstimate", {"years": 3}, caller=manager))["churnEstimate"]

    assert churn["years"] == [
        {
            "year": LAST - 2,
            "customersAtStart": 2,
            "churned": 1,
            "revenueAtStart": "400.00",
            "revenueLost": "300.00",
        },
        {
            "year": LAST - 1,
            "customersAtStart": 2,
            "churned": 1,
            "revenueAtStart": "300.00",
            "revenueLost": "200.00",
        },
        {
            "year": LAST,
            "customersAtStart": 2,
            "churned": 0,
            "revenueAtStart": "500.00",
            "revenueLost": "0.00",
        },
    ]
    assert churn["byCount"] == pytest.approx(1 / 3, abs=1e-12)
    assert churn["byRevenue"] == pytest.approx((0.75 + 2 / 3) / 3, abs=1e-12)


async def test_churn_skips_years_without_customers(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _churn_history(api)

    churn = (await api.op("ChurnEstimate", {"years": 5}, caller=manager))["churnEstimate"]

    assert [(y["year"], y["customersAtStart"]) for y in churn["years"]] == [
        (LAST - 4, 0),
        (LAST - 3, 0),
        (LAST - 2, 2),
        (LAST - 1, 2),
        (LAST, 2),
    ]
    assert churn["years"][0]["revenueAtStart"] == "0.00"
    assert churn["byCount"] == pytest.approx(1 / 3, abs=1e-12)
    assert churn["byRevenue"] == pytest.approx((0.75 + 2 / 3) / 3, abs=1e-12)


async def test_churn_without_any_history_is_null(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)

    churn = (await api.op("ChurnEstimate", {"years": None}, caller=manager))["churnEstimate"]

    assert churn["byCount"] is None
    assert churn["byRevenue"] is None
    assert [y["year"] for y in churn["years"]] == [LAST - 2, LAST - 1, LAST]
    assert {y["customersAtStart"] for y in churn["years"]} == {0}


async def test_churn_rejects_bad_years(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    query = "query($y: Int) { churnEstimate(years: $y) { byCount } }"
    result = await api.gql(query, {"y": 0}, caller=manager)
    assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "years"}


async def test_plan_without_own_churn_uses_estimate(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    accounts = await _churn_history(api)
    plan = await create_plan(
        api.session, accounts["A"], start=date(LAST + 1, 1, 1), end=date(LAST + 1, 12, 31)
    )
    query = """query($id: ID!) { node(id: $id) { ... on AccountPlan {
        baselineRevenue churnRate targetRevenue forecastRevenue gap } } }"""

    node = (await api.data(query, {"id": to_global_id("AccountPlan", plan.id)}, caller=manager))[
        "node"
    ]

    assert node["churnRate"] == pytest.approx((0.75 + 2 / 3) / 3, abs=1e-12)
    assert node == {**node, "baselineRevenue": "100.00", "targetRevenue": "110.00"}
    assert (node["forecastRevenue"], node["gap"]) == ("52.78", "57.22")


async def _forecast_setup(api: Api) -> tuple[dict[str, Account], Caller, Caller]:
    ann = await api.caller(Role.REP, name="Ann")
    bob = await api.caller(Role.REP, name="Bob")
    p = await create_account(api.session, "Parent", classification=Classification.A)
    b1 = await create_account(api.session, "B1", classification=Classification.B, parent_id=p.id)
    b2 = await create_account(api.session, "B2", parent_id=b1.id)
    s = await create_account(api.session, "Solo", classification=Classification.A)
    for account, amount in [(p, "1000"), (b1, "500"), (b2, "200")]:
        await create_activity(api.session, account, amount, at(2024))
    active = PlanStatus.ACTIVE
    await create_plan(api.session, p, owner_id=ann.user_id, churn_rate="0.2", status=active)
    await create_plan(
        api.session, b1, growth_target_pct="20", churn_rate=0, planned_net_new=50, status=active
    )
    await create_plan(
        api.session,
        b2,
        owner_id=ann.user_id,
        growth_target_pct="0",
        churn_rate="0.5",
        price_change_pct="10",
        status=active,
    )
    await create_plan(
        api.session, s, owner_id=bob.user_id, churn_rate=0, planned_net_new=1000, status=active
    )
    await create_plan(api.session, s, start=date(2026, 1, 1), end=date(2026, 12, 31))  # draft
    await create_plan(
        api.session, b2, start=date(2024, 1, 1), end=date(2024, 12, 31), status=active
    )
    return {"P": p, "B1": b1, "B2": b2, "S": s}, ann, bob


def _row(
    key: str, label: str, n: int, base: str, fc: str, target: str, gap: str
) -> dict[str, object]:
    return {
        "key": key,
        "label": label,
        "accounts": n,
        "baselineRevenue": base,
        "forecastRevenue": fc,
        "targetRevenue": target,
        "gap": gap,
    }


async def test_forecast_by_each_grouping(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    accounts, ann, bob = await _forecast_setup(api)

    async def forecast(group_by: str) -> list[dict[str, object]]:
        variables = {"groupBy": group_by, "periodStart": "2025-03-01"}
        rows: list[dict[str, object]] = (await api.op("Forecast", variables, caller=manager))[
            "forecast"
        ]
        return rows

    assert await forecast("OWNER") == [
        _row(bob.id, "Bob", 1, "0.00", "1000.00", "0.00", "-1000.00"),
        _row(ann.id, "Ann", 2, "1200.00", "910.00", "1300.00", "390.00"),
        _row("NONE", "Unassigned", 1, "500.00", "550.00", "600.00", "50.00"),
    ]
    assert await forecast("CLASSIFICATION") == [
        _row("A", "A", 2, "1000.00", "1800.00", "1100.00", "-700.00"),
        _row("B", "B", 1, "500.00", "550.00", "600.00", "50.00"),
        _row("NONE", "Unclassified", 1, "200.00", "110.00", "200.00", "90.00"),
    ]
    top = to_global_id("Account", accounts["P"].id)
    solo = to_global_id("Account", accounts["S"].id)
    assert await forecast("PARENT") == [
        _row(top, "Parent", 3, "1700.00", "1460.00", "1900.00", "440.00"),
        _row(solo, "Solo", 1, "0.00", "1000.00", "0.00", "-1000.00"),
    ]


async def _ranked_accounts(api: Api) -> list[Account]:
    now = datetime.now(UTC)
    amounts = ["5000", "3000", "1000", "600", "400", None]
    accounts = []
    for i, amount in enumerate(amounts):
        account = await create_account(api.session, f"Rank {i + 1}")
        if amount is not None:
            await create_activity(api.session, account, amount, now - timedelta(days=20 + i))
        accounts.append(account)
    await create_activity(api.session, accounts[5], "9000", now - timedelta(days=400))
    await create_activity(api.session, accounts[4], "9000", now, ActivityKind.QUOTE)
    archived = await create_account(api.session, "Archived")
    archived.archived_at = now
    await create_activity(api.session, archived, "7000", now - timedelta(days=3))
    accounts[0].classification = Classification.A
    await api.session.commit()
    return accounts


async def test_classification_suggestions_rank_by_share(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    accounts = await _ranked_accounts(api)

    first = (await api.op("ClassificationSuggestions", {"first": 4}, caller=manager))[
        "classificationSuggestions"
    ]
    cursor_query = """query($after: String) { classificationSuggestions(first: 4, after: $after) {
        pageInfo { hasNextPage endCursor } edges { cursor } } }"""
    page = (await api.data(cursor_query, {}, caller=manager))["classificationSuggestions"]
    rest = (
        await api.op(
            "ClassificationSuggestions",
            {"first": 4, "after": page["pageInfo"]["endCursor"]},
            caller=manager,
        )
    )["classificationSuggestions"]

    assert first["totalCount"] == 6
    assert page["pageInfo"]["hasNextPage"] is True
    nodes = [e["node"] for e in first["edges"] + rest["edges"]]
    assert [n["account"]["id"] for n in nodes] == [to_global_id("Account", a.id) for a in accounts]
    assert [
        (n["revenueLast12Months"], n["cumulativeShareBefore"], n["suggested"]) for n in nodes
    ] == [
        ("5000.00", 0.0, "A"),
        ("3000.00", 0.5, "B"),
        ("1000.00", 0.8, "C"),
        ("600.00", 0.9, "C"),
        ("400.00", 0.96, "D"),
        ("0.00", 1.0, "D"),
    ]
    assert nodes[0]["account"]["classification"] == "A"
    custom = (
        """{ classificationSuggestions(first: 2, aCutoff: 0.6) { edges { node { suggested } } } }"""
    )
    edges = (await api.data(custom, caller=manager))["classificationSuggestions"]["edges"]
    assert [e["node"]["suggested"] for e in edges] == ["A", "A"]


async def test_apply_classification_dry_run_then_some_then_all(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    accounts = await _ranked_accounts(api)
    ids = [to_global_id("Account", a.id) for a in accounts]

    async def apply(input: dict[str, object]) -> dict[str, object]:
        result: dict[str, object] = (
            await api.op("ApplyClassification", {"input": input}, caller=manager)
        )["applyClassification"]
        return result

    async def classes() -> list[Classification | None]:
        query = select(Account.classification).where(Account.id.in_([a.id for a in accounts]))
        rows = await api.session.scalars(query.order_by(Account.id))
        return list(rows)

    assert await apply({"dryRun": True}) == {"changedCount": 5, "dryRun": True, "errors": []}
    assert await classes() == ["A", None, None, None, None, None]
    assert await apply({"accountIds": ids[1:3]}) == {
        "changedCount": 2,
        "dryRun": False,
        "errors": [],
    }
    assert await classes() == ["A", "B", "C", None, None, None]
    audit = await api.session.execute(
        select(
            AuditEntry.entity_id, AuditEntry.action, AuditEntry.changes, AuditEntry.actor_user_id
        )
        .where(AuditEntry.action == "account.classify")
        .order_by(AuditEntry.entity_id)
    )
    assert [tuple(r) for r in audit] == [
        (
            accounts[1].id,
            "account.classify",
            {"classification": {"before": None, "after": "B"}},
            manager.user_id,
        ),
        (
            accounts[2].id,
            "account.classify",
            {"classification": {"before": None, "after": "C"}},
            manager.user_id,
        ),
    ]
    assert await apply({}) == {"changedCount": 3, "dryRun": False, "errors": []}
    assert await classes() == ["A", "B", "C", "C", "D", "D"]
    versions = await api.session.scalars(
        select(Account.version).where(Account.id.in_([a.id for a in accounts])).order_by(Account.id)
    )
    assert list(versions) == [1, 2, 2, 2, 2, 2]


async def test_apply_classification_unknown_account_writes_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    accounts = await _ranked_accounts(api)
    ids = [to_global_id("Account", accounts[1].id), to_global_id("Account", 999999)]

    result = (await api.op("ApplyClassification", {"input": {"accountIds": ids}}, caller=manager))[
        "applyClassification"
    ]

    assert [(e["code"], e["field"]) for e in result["errors"]] == [("NOT_FOUND", "accountIds")]
    assert (
        await api.session.scalar(select(Account.classification).where(Account.id == accounts[1].id))
        is None
    )
    assert (
        await api.session.scalar(
            select(AuditEntry.id).where(AuditEntry.action == "account.classify")
        )
        is None
    )


# Where the stored sums start, against the window's start: the reader corrects either way.
DAY, HOUR = timedelta(days=1), timedelta(hours=1)


@pytest.mark.parametrize("anchor", [-2 * DAY, -HOUR, timedelta(0), HOUR, 30 * DAY])
async def test_last_12_months_is_exact_at_the_edges(
    session: AsyncSession, anchor: timedelta
) -> None:
    now = await session.scalar(select(func.now()))
    start = await session.scalar(select(func.now() - text("interval '12 months'")))
    assert now is not None
    assert start is not None
    new_year = datetime(now.astimezone(UTC).year, 1, 1, tzinfo=UTC)
    hour = timedelta(hours=1)
    history = {
        "inside": [("100", start + hour)],
        "outside": [("200", start - hour), ("50", now - timedelta(days=1))],
        "future": [("300", now + timedelta(days=1))],
        "mixed": [("10", start + timedelta(days=1)), ("20", new_year), ("40", now - hour)],
    }
    accounts = {}
    for name, rows in history.items():
        accounts[name] = await create_account(session, name)
        for amount, when in rows:
            await create_activity(session, accounts[name], amount, when)
    await window.move_anchor(session, to=start + anchor)
    await session.commit()

    page = await segments.suggestion_page(
        session, cutoffs=segments.Cutoffs(), args=PageArgs(first=10)
    )

    found = {item.account_id: item.revenue_last_12_months for item in page.items}
    assert {name: found[a.id] for name, a in accounts.items()} == {
        "inside": Decimal("100.00"),
        "outside": Decimal("50.00"),
        "future": Decimal("0"),
        "mixed": Decimal("70.00"),
    }
