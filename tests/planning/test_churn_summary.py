"""churn_years (migration 0012) against the raw activities, after every kind of revenue write."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import text

from app.models.accounts import Account
from app.models.activities import ActivityKind
from app.models.auth import Role
from app.planning import revenue_sql
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import create_activity
from tests.support import Api, Caller

LAST = datetime.now(UTC).year - 1
KINDS = [ActivityKind.INVOICE, ActivityKind.PARTS_PURCHASE, ActivityKind.CALL_INBOUND]

# churnEstimate(years: 5) straight from the activities: revenue per account and UTC year,
# then per complete year Y the customers of Y - 1 and who of them bought nothing in Y.
RAW_CHURN = text("""
WITH revenue AS (
    SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int AS year,
           sum(amount) AS revenue
    FROM activities
    WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND voided_at IS NULL
      AND amount IS NOT NULL
    GROUP BY 1, 2
),
per_year AS (
    SELECT y.y,
           count(p.account_id) AS customers,
           count(p.account_id) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0) AS churned,
           coalesce(sum(p.revenue), 0) AS revenue_at_start,
           coalesce(sum(p.revenue) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), 0)
               AS revenue_lost
    FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS y(y)
    LEFT JOIN revenue p ON p.year = y.y - 1 AND p.revenue > 0
    LEFT JOIN revenue c ON c.account_id = p.account_id AND c.year = y.y
    GROUP BY y.y
)
SELECT y, customers, churned, revenue_at_start, revenue_lost,
       avg(churned::numeric / nullif(customers, 0)) OVER (),
       avg(revenue_lost / nullif(revenue_at_start, 0)) OVER ()
FROM per_year ORDER BY y
""")


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


async def _assert_churn_matches(api: Api, manager: Caller) -> None:
    await api.session.rollback()  # a fresh snapshot: what the API wrote
    stored = await api.session.execute(
        text(
            "SELECT year, shard, customers, churned, revenue_at_start, revenue_lost"
            " FROM churn_years WHERE customers <> 0 OR churned <> 0 OR revenue_at_start <> 0"
            " OR revenue_lost <> 0 ORDER BY 1, 2"
        )
    )
    recomputed = await api.session.execute(text(revenue_sql.RECOMPUTE + " ORDER BY 1, 2"))
    assert [tuple(r) for r in stored] == [tuple(r) for r in recomputed]

    found = (await api.op("ChurnEstimate", {"years": 5}, caller=manager))["churnEstimate"]
    rows = (await api.session.execute(RAW_CHURN, {"first": LAST - 4, "last": LAST})).all()
    assert [
        (
            y["year"],
            y["customersAtStart"],
            y["churned"],
            Decimal(y["revenueAtStart"]),
            Decimal(y["revenueLost"]),
        )
        for y in found["years"]
    ] == [tuple(r[:5]) for r in rows]
    # Float fields: the numeric rates as the API's floats.
    assert (found["byCount"], found["byRevenue"]) == (_float(rows[0][5]), _float(rows[0][6]))


async def _log(api: Api, manager: Caller, accounts: list[Account], rnd: random.Random) -> None:
    items = [
        {
            "kind": rnd.choice(KINDS).value,
            "occurredAt": datetime(rnd.randint(LAST - 5, LAST + 1), 3, 1, tzinfo=UTC).isoformat(),
            "accountId": to_global_id("Account", rnd.choice(accounts).id),
            "amount": str(rnd.choice([0, 15, 250, 999.99])),
        }
        for _ in range(30)
    ]
    logged = await api.op("LogActivities", {"input": {"activities": items}}, caller=manager)
    assert logged["logActivities"]["acceptedCount"] == 30


async def test_churn_from_summaries_equals_churn_from_activities(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rnd = random.Random(11)
    accounts = [await create_account(api.session, name=f"Churn {i}") for i in range(10)]
    for _ in range(60):
        when = datetime(rnd.randint(LAST - 5, LAST + 1), 1, 1, tzinfo=UTC)
        amount = rnd.choice(["0", "10", "120.50", "-30", None, "4000"])
        kind = rnd.choice(KINDS)
        await create_activity(api.session, rnd.choice(accounts), amount, when, kind)
    await _assert_churn_matches(api, manager)

    await _log(api, manager, accounts, rnd)
    ids = list(await api.session.scalars(text("SELECT id FROM activities ORDER BY id")))
    for pk in ids[::9]:
        voided = await api.op(
            "VoidActivity",
            {"input": {"id": to_global_id("Activity", pk), "reason": "wrong account"}},
            caller=manager,
        )
        assert voided["voidActivity"]["errors"] == []
    await api.session.execute(text("DELETE FROM activities WHERE id % 13 = 0"))
    await api.session.execute(
        text(
            "UPDATE activities SET amount = amount * 2, occurred_at = occurred_at"
            " + interval '300 days' WHERE id % 5 = 0"
        )
    )
    await api.session.commit()
    merged = await api.op(
        "MergeAccounts",
        {
            "input": {
                "survivorId": to_global_id("Account", accounts[0].id),
                "duplicateId": to_global_id("Account", accounts[1].id),
            }
        },
        caller=manager,
    )
    assert merged["mergeAccounts"]["errors"] == []

    await _assert_churn_matches(api, manager)
