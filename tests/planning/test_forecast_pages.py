"""forecast in pages: `first`/`after` walk the same groups, in the same order, as one call."""

from __future__ import annotations

from typing import Any

from app.models.auth import Role
from app.models.planning import PlanStatus
from tests.accounts.factories import create_account
from tests.planning.factories import create_plan
from tests.support import Api, Caller

PAGED = """
query($groupBy: ForecastGrouping!, $periodStart: Date!, $first: Int, $after: String) {
  forecast(groupBy: $groupBy, periodStart: $periodStart, first: $first, after: $after) {
    key label accounts baselineRevenue forecastRevenue targetRevenue gap cursor
  }
}"""
PERIOD = "2025-03-01"
# Ties on the forecast, so the key decides the order; two plans without an owner.
NET_NEW = [500, 300, 300, 300, 100, 0, 0, 250]


async def _plans(api: Api) -> list[Caller]:
    owners = [await api.caller(Role.REP, name=f"Owner {i}") for i in range(5)]
    for i, amount in enumerate(NET_NEW):
        account = await create_account(api.session, f"Top {i}")
        plan = await create_plan(
            api.session,
            account,
            owner_id=owners[i % 5].user_id,
            churn_rate=0,
            planned_net_new=amount,
            status=PlanStatus.ACTIVE,
        )
        if i in (5, 7):
            plan.owner_id = None
    await api.session.commit()
    return owners


async def _pages(api: Api, manager: Caller, group_by: str, first: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"groupBy": group_by, "periodStart": PERIOD, "first": first, "after": after}
        result = await api.gql(PAGED, variables, caller=manager)
        assert "errors" not in result, result
        page: list[dict[str, Any]] = result["data"]["forecast"]
        assert len(page) <= first
        rows += page
        if len(page) < first:
            return rows
        after = page[-1]["cursor"]


async def test_pages_concatenate_to_the_whole_forecast(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _plans(api)
    for group_by in ("PARENT", "OWNER"):
        whole = (
            await api.op("Forecast", {"groupBy": group_by, "periodStart": PERIOD}, caller=manager)
        )["forecast"]
        assert len(whole) == {"PARENT": 8, "OWNER": 6}[group_by]
        for first in (1, 2, 3, 100):
            paged = await _pages(api, manager, group_by, first)
            assert [{k: v for k, v in r.items() if k != "cursor"} for r in paged] == whole
    parents = await _pages(api, manager, "PARENT", 3)
    assert [r["forecastRevenue"] for r in parents] == [
        "500.00",
        "300.00",
        "300.00",
        "300.00",
        "250.00",
        "100.00",
        "0.00",
        "0.00",
    ]


async def test_a_bad_cursor_or_page_size_is_refused(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _plans(api)
    variables = {"groupBy": "PARENT", "periodStart": PERIOD, "first": 2, "after": "bm90IGpzb24="}
    bad = await api.gql(PAGED, variables, caller=manager)
    assert [e["extensions"]["code"] for e in bad["errors"]] == ["INVALID_CURSOR"]
    too_many = await api.gql(PAGED, {**variables, "first": 101, "after": None}, caller=manager)
    assert len(too_many["errors"]) == 1
    assert too_many["data"] is None
