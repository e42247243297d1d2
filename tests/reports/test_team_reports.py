"""teamId on the reports about people's work (issue 21): stuckEntries (entries the members
own), activityMix (activities they logged), stageThroughput.byOwner (their rows), in
GraphQL and in the CSV export; an unknown team is INVALID_INPUT on teamId."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.handoff.factories import default_pipeline
from tests.reports.factories import event, jan, set_entry
from tests.reports.teams import create_team
from tests.support import Api, Caller

STUCK = """
query($teamId: ID) {
  stuckEntries(olderThanDays: 30, teamId: $teamId) {
    totalCount edges { node { account { name } owner { name } } }
  }
}"""
MIX = """
query($teamId: ID) {
  activityMix(from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z", teamId: $teamId) {
    kind count accounts share
  }
}"""
BY_OWNER = """
query($teamId: ID) {
  stageThroughput(from: "2025-01-01T00:00:00Z", to: "2025-02-01T00:00:00Z") {
    byOwner(teamId: $teamId) { owner { name } stage entered exited }
  }
}"""


async def arrange(api: Api, session: AsyncSession) -> tuple[Caller, str]:
    """Rep A (in team North) and Rep B (not): an entry stuck, activities and stage moves each."""
    a = await api.caller(Role.REP, name="Rep A")
    b = await api.caller(Role.REP, name="Rep B")
    manager = await api.caller(Role.MANAGER)
    mine, theirs = await create_account(session, "Mine"), await create_account(session, "Theirs")
    await set_entry(session, mine, stage="PROSPECT", days_ago=40, owner_id=a.user_id)
    await set_entry(session, theirs, stage="PROSPECT", days_ago=50, owner_id=b.user_id)
    pipeline = await default_pipeline(session)
    call, email = ActivityKind.CALL_OUTBOUND, ActivityKind.EMAIL_SENT
    session.add_all(
        [
            Activity(account_id=mine.id, kind=call, occurred_at=jan(2), user_id=a.user_id),
            Activity(account_id=mine.id, kind=email, occurred_at=jan(3), user_id=a.user_id),
            Activity(account_id=theirs.id, kind=call, occurred_at=jan(4), user_id=b.user_id),
            Activity(account_id=theirs.id, kind=call, occurred_at=jan(5)),
            event(pipeline, mine.id, (None, "PROSPECT"), jan(1), (None, a.user_id)),
            event(pipeline, theirs.id, (None, "PROSPECT"), jan(1), (None, b.user_id)),
        ]
    )
    await session.commit()
    team = await create_team(session, "North", lead_id=manager.user_id, members=[a.user_id])
    return manager, team


async def test_stuck_entries_of_a_team(api: Api, session: AsyncSession) -> None:
    manager, team = await arrange(api, session)
    every = (await api.data(STUCK, {}, caller=manager))["stuckEntries"]
    assert every["totalCount"] == 2
    data = (await api.data(STUCK, {"teamId": team}, caller=manager))["stuckEntries"]
    assert data == {
        "totalCount": 1,
        "edges": [{"node": {"account": {"name": "Mine"}, "owner": {"name": "Rep A"}}}],
    }


async def test_activity_mix_of_a_team(api: Api, session: AsyncSession) -> None:
    manager, team = await arrange(api, session)
    data = await api.data(MIX, {"teamId": team}, caller=manager)
    assert data["activityMix"] == [
        {"kind": "CALL_OUTBOUND", "count": 1, "accounts": 1, "share": 0.5},
        {"kind": "EMAIL_SENT", "count": 1, "accounts": 1, "share": 0.5},
    ]
    every = await api.data(MIX, {}, caller=manager)
    assert [r["count"] for r in every["activityMix"]] == [3, 1]


async def test_throughput_by_owner_of_a_team(api: Api, session: AsyncSession) -> None:
    manager, team = await arrange(api, session)
    data = await api.data(BY_OWNER, {"teamId": team}, caller=manager)
    assert data["stageThroughput"]["byOwner"] == [
        {"owner": {"name": "Rep A"}, "stage": "PROSPECT", "entered": 1, "exited": 0}
    ]
    every = await api.data(BY_OWNER, {}, caller=manager)
    assert len(every["stageThroughput"]["byOwner"]) == 2


@pytest.mark.parametrize("query", [STUCK, MIX, BY_OWNER], ids=["stuck", "mix", "byOwner"])
async def test_an_unknown_team_is_invalid_input(api: Api, query: str) -> None:
    manager = await api.caller(Role.MANAGER)
    result = await api.gql(query, {"teamId": to_global_id("Team", 404)}, caller=manager)
    found = [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]]
    assert found == [("INVALID_INPUT", "teamId")]


async def test_the_csv_exports_take_the_team(api: Api, session: AsyncSession) -> None:
    manager, team = await arrange(api, session)
    headers = {"Authorization": f"Bearer {manager.token}"}
    span = "from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z"
    paths = {
        "stuckEntries": "olderThanDays=30",
        "activityMix": span,
        "stageThroughput.byOwner": span,
        "coverageReport": "groupBy=USER",
    }
    counts = {}
    for field, query in paths.items():
        path = f"/export/reports/{field}.csv?{query}&teamId={quote(team)}"
        response = await api.client.get(path, headers=headers)
        assert response.status_code == 200, response.text
        counts[field] = len(list(csv.reader(io.StringIO(response.text)))) - 1
    assert counts == {
        "stuckEntries": 1,
        "activityMix": 2,
        "stageThroughput.byOwner": 1,
        "coverageReport": 0,
    }
    unknown = to_global_id("Team", 404)
    path = f"/export/reports/stuckEntries.csv?olderThanDays=30&teamId={quote(unknown)}"
    response = await api.client.get(path, headers=headers)
    assert (response.status_code, response.json()["errors"][0]["extensions"]) == (
        400,
        {"code": "INVALID_INPUT", "field": "teamId"},
    )
