"""account_revenue_window (migration 0012) and classificationSuggestions against the raw rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.models.activities import ActivityKind
from app.models.auth import Role
from app.planning import window
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import create_activity
from tests.support import Api, Caller

KINDS = [ActivityKind.INVOICE, ActivityKind.SERVICE_ORDER, ActivityKind.MEETING]
PAGE = """
query($first: Int, $after: String) {
  classificationSuggestions(first: $first, after: $after) {
    totalCount
    pageInfo { endCursor hasNextPage }
    edges { node { account { id } revenueLast12Months cumulativeShareBefore suggested } }
  }
}"""

# The whole ranking straight from the activities, in page order.
RAW_RANKING = text("""
WITH revenue AS (
    SELECT a.id, coalesce(sum(x.amount), 0) AS revenue
    FROM accounts a
    LEFT JOIN activities x ON x.account_id = a.id
        AND x.kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND x.voided_at IS NULL
        AND x.occurred_at > now() - interval '12 months' AND x.occurred_at <= now()
    WHERE a.archived_at IS NULL
    GROUP BY a.id
),
ranked AS (
    SELECT id, revenue,
           coalesce(sum(revenue) OVER (ORDER BY revenue DESC, id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
               / nullif(sum(revenue) OVER (), 0) AS share
    FROM revenue
)
SELECT id, revenue, coalesce(share, 0),
       CASE WHEN revenue <= 0 THEN 'D' WHEN coalesce(share, 0) < 0.5 THEN 'A'
            WHEN coalesce(share, 0) < 0.8 THEN 'B' WHEN coalesce(share, 0) < 0.95 THEN 'C'
            ELSE 'D' END
FROM ranked ORDER BY revenue DESC, id
""")

STORED = text("SELECT account_id, cents FROM account_revenue_window WHERE cents <> 0 ORDER BY 1")
RECOMPUTED = text("""
SELECT x.account_id, sum(x.amount * 100)
FROM activities x, revenue_window_anchor a
WHERE a.id = 1 AND x.occurred_at >= a.since AND x.voided_at IS NULL AND x.amount IS NOT NULL
  AND x.kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')
GROUP BY 1 HAVING sum(x.amount) <> 0 ORDER BY 1
""")


async def _assert_matches(api: Api, manager: Caller) -> None:
    await api.session.rollback()  # a fresh snapshot: what the API wrote
    stored = (await api.session.execute(STORED)).all()
    assert [tuple(r) for r in stored] == [tuple(r) for r in await api.session.execute(RECOMPUTED)]
    expected = [
        (to_global_id("Account", pk), revenue, float(share), suggested)
        for pk, revenue, share, suggested in await api.session.execute(RAW_RANKING)
    ]
    found: list[tuple[str, Decimal, float, str]] = []
    after = None
    while True:
        result = await api.gql(PAGE, {"first": 4, "after": after}, caller=manager)
        connection = result["data"]["classificationSuggestions"]
        assert connection["totalCount"] == len(expected)
        found += [
            (
                e["node"]["account"]["id"],
                Decimal(e["node"]["revenueLast12Months"]),
                e["node"]["cumulativeShareBefore"],
                e["node"]["suggested"],
            )
            for e in connection["edges"]
        ]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert found == expected


def _moment(rnd: random.Random, now: datetime, start: datetime) -> datetime:
    """Around the window's start, inside, around now and after it; never within a minute."""
    base = rnd.choice([start, start, now, now - timedelta(days=100)])
    offset = timedelta(minutes=rnd.choice([-1, 1]) * rnd.uniform(2, 3 * 24 * 60))
    return base + offset


async def test_suggestions_from_the_window_equal_suggestions_from_raw_rows(
    api: Api, engine: AsyncEngine
) -> None:
    manager = await api.caller(Role.MANAGER)
    rnd = random.Random(3)
    now = datetime.now(UTC)
    start = (await api.session.execute(text("SELECT now() - interval '12 months'"))).scalar_one()
    accounts = [await create_account(api.session, name=f"Window {i}") for i in range(9)]
    for _ in range(70):
        amount = rnd.choice(["10", "250.25", "0", "-40", "1200"])
        when = _moment(rnd, now, start)
        await create_activity(api.session, rnd.choice(accounts), amount, when, rnd.choice(KINDS))
    await _assert_matches(api, manager)

    items = [
        {
            "kind": rnd.choice(KINDS).value,
            "occurredAt": (start + timedelta(hours=rnd.uniform(-50, 50))).isoformat(),
            "accountId": to_global_id("Account", rnd.choice(accounts).id),
            "amount": rnd.choice(["33.33", "900"]),
        }
        for _ in range(20)
    ]
    logged = await api.op("LogActivities", {"input": {"activities": items}}, caller=manager)
    assert logged["logActivities"]["acceptedCount"] == 20
    ids = list(await api.session.scalars(text("SELECT id FROM activities ORDER BY id")))
    for pk in ids[::7]:
        voided = await api.op(
            "VoidActivity",
            {"input": {"id": to_global_id("Activity", pk), "reason": "duplicate"}},
            caller=manager,
        )
        assert voided["voidActivity"]["errors"] == []
    await api.session.execute(text("DELETE FROM activities WHERE id % 11 = 0"))
    await api.session.execute(
        text("UPDATE activities SET occurred_at = occurred_at - interval '2 days' WHERE id % 4 = 0")
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
    await _assert_matches(api, manager)

    sessionmaker = db.create_sessionmaker(engine)
    for shift in (timedelta(days=-2), timedelta(hours=30), timedelta(minutes=-90)):
        async with db.session_scope(sessionmaker) as session:
            await window.move_anchor(session, to=start + shift)
        await _assert_matches(api, manager)
    assert await window.advance(sessionmaker) is True
    assert await window.advance(sessionmaker) is False
    await _assert_matches(api, manager)


async def test_a_move_gives_up_while_a_writer_holds_the_anchor(
    api: Api, engine: AsyncEngine
) -> None:
    account = await create_account(api.session)
    pk = account.id
    sessionmaker = db.create_sessionmaker(engine)
    anchor = text("SELECT since FROM revenue_window_anchor")
    back = (await api.session.scalar(anchor)) - timedelta(days=2)
    await window.move_anchor(api.session, to=back)
    await create_activity(api.session, account, "5", datetime.now(UTC))  # commits
    insert = text(
        "INSERT INTO activities (account_id, kind, occurred_at, amount)"
        " VALUES (:a, 'INVOICE', now(), 7)"
    )
    async with sessionmaker() as writer:
        await writer.execute(insert, {"a": pk})  # holds a share lock on the anchor

        assert await window.advance(sessionmaker) is False

        await writer.commit()
    await api.session.rollback()
    assert await api.session.scalar(anchor) == back
    assert await window.advance(sessionmaker) is True
    await api.session.rollback()
    assert await api.session.scalar(anchor) > back
    stored = text("SELECT cents FROM account_revenue_window WHERE account_id = :a")
    assert await api.session.scalar(stored, {"a": pk}) == 1200
