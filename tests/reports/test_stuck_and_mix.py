"""stuckEntries (longest first, keyset pages) and activityMix, known answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.reports.factories import archive, jan, set_entry
from tests.support import Api

STUCK = """
query($olderThanDays: Int!, $first: Int, $after: String) {
  stuckEntries(olderThanDays: $olderThanDays, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { stage account { name } owner { name } } }
  }
}
"""
MIX = """
query($from: DateTime!, $to: DateTime!) {
  activityMix(from: $from, to: $to) { kind count accounts share }
}
"""


async def test_stuck_entries_longest_first_in_pages(api: Api, session: AsyncSession) -> None:
    a = await api.caller(Role.REP, name="Rep A")
    manager = await api.caller(Role.MANAGER)
    names = ("Forty", "Hundred", "Ten", "Won", "Archived")
    forty, hundred, ten, won, gone = [await create_account(session, n) for n in names]
    await set_entry(session, forty, stage="PROSPECT", days_ago=40, owner_id=a.user_id)
    await set_entry(session, hundred, stage="QUALIFIED", days_ago=100, owner_id=None)
    await set_entry(session, ten, stage="PROSPECT", days_ago=10, owner_id=a.user_id)
    await set_entry(session, won, stage="CUSTOMER", days_ago=200, owner_id=a.user_id)
    await set_entry(session, gone, stage="PROSPECT", days_ago=300, owner_id=a.user_id)
    await archive(session, gone)

    first = await api.data(STUCK, {"olderThanDays": 30, "first": 1}, caller=manager)
    page = first["stuckEntries"]
    assert page["totalCount"] == 2
    assert page["pageInfo"]["hasNextPage"] is True
    assert [e["node"] for e in page["edges"]] == [
        {"stage": "QUALIFIED", "account": {"name": "Hundred"}, "owner": None}
    ]
    after = {"olderThanDays": 30, "first": 1, "after": page["pageInfo"]["endCursor"]}
    second = (await api.data(STUCK, after, caller=manager))["stuckEntries"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert [e["node"] for e in second["edges"]] == [
        {"stage": "PROSPECT", "account": {"name": "Forty"}, "owner": {"name": "Rep A"}}
    ]
    every = (await api.data(STUCK, {"olderThanDays": 5}, caller=manager))["stuckEntries"]
    assert [e["node"]["account"]["name"] for e in every["edges"]] == ["Hundred", "Forty", "Ten"]


async def test_stuck_entries_bad_input(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    for variables, field in (
        ({"olderThanDays": -1}, "olderThanDays"),
        ({"olderThanDays": 1, "first": 101}, "first"),
    ):
        result = await api.gql(STUCK, variables, caller=manager)
        assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": field}


def activity(account_id: int, kind: ActivityKind, at: datetime) -> Activity:
    return Activity(account_id=account_id, kind=kind, occurred_at=at)


async def test_activity_mix(api: Api, session: AsyncSession) -> None:
    manager = await api.caller(Role.MANAGER)
    one, two, three = [await create_account(session, n) for n in ("One", "Two", "Three")]
    call, email = ActivityKind.CALL_OUTBOUND, ActivityKind.EMAIL_SENT
    voided = activity(two.id, email, jan(6))
    voided.voided_at = jan(7)
    session.add_all(
        [
            activity(one.id, call, jan(2)),
            activity(one.id, call, jan(3)),
            activity(two.id, call, jan(4)),
            activity(three.id, email, jan(5)),
            activity(three.id, ActivityKind.MEETING, datetime(2025, 2, 1, tzinfo=UTC)),
            voided,
        ]
    )
    await session.commit()
    january = {"from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"}
    data = await api.data(MIX, january, caller=manager)
    expected: list[dict[str, Any]] = [
        {"kind": "CALL_OUTBOUND", "count": 3, "accounts": 2, "share": 0.75},
        {"kind": "EMAIL_SENT", "count": 1, "accounts": 1, "share": 0.25},
    ]
    assert data["activityMix"] == expected
    empty = {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}
    assert (await api.data(MIX, empty, caller=manager))["activityMix"] == []
