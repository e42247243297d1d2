"""TeamCoverage and ContactSuggestions of contract/teams.graphql (issue 21), exactly as
written, through the ASGI app, with known answers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Classification
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, day_start, log, noon
from tests.reports.teams import create_team
from tests.support import Api, Caller

# Copied verbatim from contract/teams.graphql.
TEAM_COVERAGE = """
query TeamCoverage($teamId: ID!) {
  coverageReport(groupBy: [USER], filter: { teamId: $teamId }) {
    user { id name }
    assignments
    overdue
    deficit
  }
}
"""
CONTACT_SUGGESTIONS = """
query ContactSuggestions($userId: ID, $first: Int) {
  contactSuggestions(userId: $userId, first: $first) {
    edges {
      node {
        assignment { id nextContactDue account { id name } }
        reason
        suggestedKind
        balance
      }
    }
  }
}
"""


async def test_team_coverage_counts_the_members_only(api: Api, session: AsyncSession) -> None:
    a = await api.caller(Role.REP, name="Rep A")
    b = await api.caller(Role.REP, name="Rep B")
    outsider = await api.caller(Role.REP, name="Rep C")
    manager = await api.caller(Role.MANAGER, name="Lead")
    one = await create_account(session, "One", classification=Classification.A)
    two = await create_account(session, "Two", classification=Classification.A)
    three = await create_account(session, "Three", classification=Classification.B)
    four = await create_account(session, "Four")
    await log(session, account_id=one.id, occurred_at=noon(10))
    for days_ago in (1, 2, 3, 5, 8):
        await log(session, account_id=three.id, occurred_at=noon(days_ago))
    # A: One on track in deficit (1 contact in 101 days, every 30), Two overdue (none in 51).
    await create_assignment(
        session, account_id=one.id, user_id=a.user_id, frequency=30, started_at=noon(100)
    )
    await create_assignment(
        session, account_id=two.id, user_id=a.user_id, frequency=10, started_at=noon(50)
    )
    # B: Three due soon, in surplus (5 contacts in 21 days, every 7). C is in no team.
    await create_assignment(
        session, account_id=three.id, user_id=b.user_id, frequency=7, started_at=noon(20)
    )
    await create_assignment(
        session, account_id=four.id, user_id=outsider.user_id, frequency=10, started_at=noon(50)
    )
    team = await create_team(
        session, "North", lead_id=manager.user_id, members=[a.user_id, b.user_id]
    )
    await create_team(session, "South", lead_id=manager.user_id, members=[outsider.user_id])

    data = await api.data(TEAM_COVERAGE, {"teamId": team}, caller=manager)
    assert data["coverageReport"] == [
        {"user": {"id": a.id, "name": "Rep A"}, "assignments": 2, "overdue": 1, "deficit": 2},
        {"user": {"id": b.id, "name": "Rep B"}, "assignments": 1, "overdue": 0, "deficit": 0},
    ]


async def test_team_coverage_of_an_unknown_team_is_invalid_input(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    for team in (to_global_id("Team", 404), manager.id):
        result = await api.gql(TEAM_COVERAGE, {"teamId": team}, caller=manager)
        assert result["data"] is None
        assert [e["extensions"] for e in result["errors"]] == [
            {"code": "INVALID_INPUT", "field": "filter.teamId"}
        ]


async def arrange_suggestions(api: Api, session: AsyncSession) -> tuple[Caller, list[str]]:
    """Rep R's assignments: Cedar (C, overdue 40 days, never contacted), Alder (A) and Birch
    (B), both overdue 16 days; Spruce in deficit but its account in surplus on another
    assignment; Oak balanced. The suggested accounts' ids, most urgent first."""
    rep = await api.caller(Role.REP, name="Rep R")
    other = await api.caller(Role.REP, name="Rep S")
    names = {"Cedar": "C", "Alder": "A", "Birch": "B", "Spruce": "A", "Oak": "A"}
    made = {
        name: await create_account(session, name, classification=Classification(c))
        for name, c in names.items()
    }
    for days_ago, kind in ((40, ActivityKind.VISIT), (30, ActivityKind.VISIT)):
        await log(session, account_id=made["Alder"].id, occurred_at=day_start(days_ago), kind=kind)
    await log(
        session,
        account_id=made["Birch"].id,
        occurred_at=day_start(30),
        kind=ActivityKind.EMAIL_SENT,
    )
    for days_ago in (50, 45):
        await log(session, account_id=made["Spruce"].id, occurred_at=day_start(days_ago))
    await log(session, account_id=made["Oak"].id, occurred_at=day_start(5))
    plan = (("Cedar", 10, 50), ("Alder", 14, 60), ("Birch", 14, 60), ("Spruce", 7, 60))
    for name, every, started in (*plan, ("Oak", 30, 20)):
        await create_assignment(
            session,
            account_id=made[name].id,
            user_id=rep.user_id,
            frequency=every,
            started_at=day_start(started),
        )
    await create_assignment(
        session,
        account_id=made["Spruce"].id,
        user_id=other.user_id,
        manager_type=ManagerType.MARKETING,
        frequency=90,
        started_at=day_start(60),
    )
    ids = [str(to_global_id("Account", made[n].id)) for n in ("Cedar", "Alder", "Birch")]
    return rep, ids


EXPECTED = [
    (
        "Cedar",
        "CALL_OUTBOUND",
        -5,
        "Overdue by 40 days; C accounts are contacted every 10 days; "
        "0 contacts in the last 51 days where 5 were due.",
    ),
    (
        "Alder",
        "VISIT",
        -2,
        "Overdue by 16 days; A accounts are contacted every 14 days; "
        "2 contacts in the last 61 days where 4 were due.",
    ),
    (
        "Birch",
        "EMAIL_SENT",
        -3,
        "Overdue by 16 days; B accounts are contacted every 14 days; "
        "1 contact in the last 61 days where 4 were due.",
    ),
]


async def test_contact_suggestions_most_urgent_first(api: Api, session: AsyncSession) -> None:
    rep, account_ids = await arrange_suggestions(api, session)
    data = await api.data(CONTACT_SUGGESTIONS, {"first": 10}, caller=rep)
    nodes = [e["node"] for e in data["contactSuggestions"]["edges"]]
    assert [n["assignment"]["account"]["id"] for n in nodes] == account_ids
    found = [
        (n["assignment"]["account"]["name"], n["suggestedKind"], n["balance"], n["reason"])
        for n in nodes
    ]
    assert found == EXPECTED
    due = [n["assignment"]["nextContactDue"] for n in nodes]
    assert due == [day_start(40).isoformat(), day_start(16).isoformat(), day_start(16).isoformat()]

    manager = await api.caller(Role.MANAGER)
    theirs = await api.data(CONTACT_SUGGESTIONS, {"userId": rep.id, "first": 2}, caller=manager)
    assert [e["node"] for e in theirs["contactSuggestions"]["edges"]] == nodes[:2]
