"""forecast(groupBy: INDUSTRY): exposure per industry of the active plans."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auth import Role
from app.models.planning import PlanStatus
from tests.accounts.factories import create_account
from tests.planning.factories import at, create_activity, create_plan
from tests.support import Api

QUERY = """
query($periodStart: Date!) {
  forecast(groupBy: INDUSTRY, periodStart: $periodStart) {
    key label accounts baselineRevenue forecastRevenue targetRevenue gap
  }
}
"""


async def test_forecast_by_industry(api: Api, session: AsyncSession) -> None:
    manager = await api.caller(Role.MANAGER)
    plans = (("Agriculture", "1000", "10"), ("Agriculture", "2000", "0"), (None, "500", "20"))
    for n, (industry, revenue, growth) in enumerate(plans):
        account = await create_account(session, f"Account {n}", industry=industry)
        await create_activity(session, account, revenue, at(2024))
        await create_plan(
            session,
            account,
            start=date(2025, 3, 1),
            end=date(2026, 2, 28),
            status=PlanStatus.ACTIVE,
            growth_target_pct=growth,
            churn_rate=0,
        )
    data = await api.data(QUERY, {"periodStart": "2025-03-01"}, caller=manager)
    assert data["forecast"] == [
        {
            "key": "Agriculture",
            "label": "Agriculture",
            "accounts": 2,
            "baselineRevenue": "3000.00",
            "forecastRevenue": "3000.00",
            "targetRevenue": "3100.00",
            "gap": "100.00",
        },
        {
            "key": "NONE",
            "label": "No industry",
            "accounts": 1,
            "baselineRevenue": "500.00",
            "forecastRevenue": "500.00",
            "targetRevenue": "600.00",
            "gap": "100.00",
        },
    ]
