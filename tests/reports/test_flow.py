"""stageThroughput.byOwner and stageTrend: known answers on a handful of stage events."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.handoff.factories import default_pipeline
from tests.reports.factories import DAY, event, jan
from tests.support import Api, Caller

BY_OWNER = """
query($from: DateTime!, $to: DateTime!) {
  stageThroughput(from: $from, to: $to) {
    byOwner { owner { name } stage entered exited medianSecondsInStage conversionRate }
  }
}
"""
TREND = """
query($from: DateTime!, $to: DateTime!, $interval: ReportInterval!) {
  stageTrend(from: $from, to: $to, interval: $interval) {
    periodStart stage entered exited medianSecondsInStage
  }
}
"""
STAGES = ["PROSPECT", "QUALIFIED", "OPPORTUNITY", "CUSTOMER", "LOST"]


async def arrange(api: Api, session: AsyncSession) -> tuple[Caller, Caller]:
    """X: A's prospect, qualified by A, handed off to B, won by B.
    Y: A's prospect, reassigned to B in mid-stay, lost by B. Z: B's prospect, qualified."""
    a = await api.caller(Role.REP, name="Rep A")
    b = await api.caller(Role.REP, name="Rep B")
    pipeline = await default_pipeline(session)
    x, y, z, late = [await create_account(session, name) for name in ("X", "Y", "Z", "Late")]
    A, B = a.user_id, b.user_id
    session.add_all(
        [
            event(pipeline, x.id, (None, "PROSPECT"), jan(1), (None, A)),
            event(pipeline, x.id, ("PROSPECT", "QUALIFIED"), jan(3), (A, A), 2 * DAY),
            event(pipeline, x.id, ("QUALIFIED", "OPPORTUNITY"), jan(4), (A, B), 1 * DAY),
            event(pipeline, x.id, ("OPPORTUNITY", "CUSTOMER"), jan(8), (B, B), 4 * DAY),
            event(pipeline, y.id, (None, "PROSPECT"), jan(2), (None, A)),
            event(pipeline, y.id, ("PROSPECT", "LOST"), jan(6, 0), (B, B), 4 * DAY),
            event(pipeline, z.id, (None, "PROSPECT"), jan(5), (None, B)),
            event(pipeline, z.id, ("PROSPECT", "QUALIFIED"), jan(6), (B, B), 1 * DAY),
            event(pipeline, late.id, ("PROSPECT", "QUALIFIED"), jan(31), (A, A), 9 * DAY),
        ]
    )
    await session.commit()
    return a, b


def stats(owner: str, stage: str, *values: Any) -> dict[str, Any]:
    keys = ["entered", "exited", "medianSecondsInStage", "conversionRate"]
    return {"owner": {"name": owner}, "stage": stage, **dict(zip(keys, values, strict=True))}


async def test_by_owner_credits_each_side_of_an_owner_change(
    api: Api, session: AsyncSession
) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    january = {"from": "2025-01-01T00:00:00Z", "to": "2025-01-31T00:00:00Z"}
    data = await api.data(BY_OWNER, january, caller=manager)
    assert data["stageThroughput"]["byOwner"] == [
        stats("Rep A", "PROSPECT", 2, 1, 2 * DAY, 1.0),
        stats("Rep A", "QUALIFIED", 1, 1, 1 * DAY, 1.0),
        stats("Rep B", "PROSPECT", 1, 2, 2.5 * DAY, 0.5),
        stats("Rep B", "QUALIFIED", 1, 0, None, None),
        stats("Rep B", "OPPORTUNITY", 1, 1, 4 * DAY, 1.0),
        stats("Rep B", "CUSTOMER", 1, 0, None, None),
        stats("Rep B", "LOST", 1, 0, None, None),
    ]


async def test_by_owner_of_an_empty_range(api: Api, session: AsyncSession) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    empty = {"from": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}
    data = await api.data(BY_OWNER, empty, caller=manager)
    assert data["stageThroughput"]["byOwner"] == []


def trend(period: str, counts: dict[str, tuple[int, int, float | None]]) -> list[dict[str, Any]]:
    return [
        {
            "periodStart": period,
            "stage": stage,
            "entered": counts.get(stage, (0, 0, None))[0],
            "exited": counts.get(stage, (0, 0, None))[1],
            "medianSecondsInStage": counts.get(stage, (0, 0, None))[2],
        }
        for stage in STAGES
    ]


async def test_weekly_trend_has_every_week_in_utc(api: Api, session: AsyncSession) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    # 2025-01-01 is a Wednesday: the first week starts on Monday 30 December, in UTC even
    # though `from` is given in +01:00.
    weeks = {"from": "2025-01-01T01:00:00+01:00", "to": "2025-01-29T00:00:00Z", "interval": "WEEK"}
    data = await api.data(TREND, weeks, caller=manager)
    first = {"PROSPECT": (3, 1, 2 * DAY), "QUALIFIED": (1, 1, DAY), "OPPORTUNITY": (1, 0, None)}
    second = {
        "PROSPECT": (0, 2, 2.5 * DAY),
        "QUALIFIED": (1, 0, None),
        "OPPORTUNITY": (0, 1, 4 * DAY),
        "CUSTOMER": (1, 0, None),
        "LOST": (1, 0, None),
    }
    assert data["stageTrend"] == [
        *trend("2024-12-30T00:00:00+00:00", first),
        *trend("2025-01-06T00:00:00+00:00", second),
        *trend("2025-01-13T00:00:00+00:00", {}),
        *trend("2025-01-20T00:00:00+00:00", {}),
        *trend("2025-01-27T00:00:00+00:00", {}),
    ]


async def test_daily_and_monthly_trends(api: Api, session: AsyncSession) -> None:
    await arrange(api, session)
    manager = await api.caller(Role.MANAGER)
    days = {"from": "2025-01-05T00:00:00Z", "to": "2025-01-07T00:00:00Z", "interval": "DAY"}
    data = await api.data(TREND, days, caller=manager)
    assert data["stageTrend"] == [
        *trend("2025-01-05T00:00:00+00:00", {"PROSPECT": (1, 0, None)}),
        *trend(
            "2025-01-06T00:00:00+00:00",
            {"PROSPECT": (0, 2, 2.5 * DAY), "QUALIFIED": (1, 0, None), "LOST": (1, 0, None)},
        ),
    ]
    months = {"from": "2024-12-15T00:00:00Z", "to": "2025-02-10T00:00:00Z", "interval": "MONTH"}
    data = await api.data(TREND, months, caller=manager)
    rows = data["stageTrend"]
    assert [r["periodStart"] for r in rows[::5]] == [
        "2024-12-01T00:00:00+00:00",
        "2025-01-01T00:00:00+00:00",
        "2025-02-01T00:00:00+00:00",
    ]
    assert [r["entered"] for r in rows] == [0] * 5 + [3, 3, 1, 1, 1] + [0] * 5
    assert [r["exited"] for r in rows] == [0] * 5 + [4, 1, 1, 0, 0] + [0] * 5


async def test_trend_rejects_bad_ranges(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    too_many = {"from": "2020-01-01T00:00:00Z", "to": "2025-01-01T00:00:00Z", "interval": "DAY"}
    backwards = {"from": "2025-01-02T00:00:00Z", "to": "2025-01-01T00:00:00Z", "interval": "DAY"}
    for variables, field in ((too_many, "interval"), (backwards, "to")):
        result = await api.gql(TREND, variables, caller=manager)
        assert result["data"] is None
        assert result["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": field}
