"""Teams (an ADMIN defines them: a name, a lead who is a MANAGER, members) and the company's
record visibility. Reading teams: managers and admins read every team, a REP those they are in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AlreadyExistsError, NotFoundError
from app.events import Event, EventType, global_id
from app.kit import changes
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.auth import Role, User
from app.models.teams import OrgSetting, RecordVisibility, Team, TeamMember
from app.teams.visibility import SETTING, current

MAX_MEMBERS = 1000
# Reading every team, not only one's own (the rule table gives it to managers and admins).
READ_ALL_TEAMS = "team.read_all"


async def define_team(
    session: AsyncSession,
    *,
    actor: Actor,
    team_id: int | None,
    name: str,
    lead_id: int,
    member_ids: Sequence[int],
) -> Team:
    """Create a team, or replace the name, lead and members of `team_id`."""
    clean_name = await _checked(session, team_id, name, lead_id, member_ids)
    team = await _locked(session, team_id) if team_id is not None else None
    before = await _state(session, team) if team is not None else {}
    if team is None:
        team = Team(name=clean_name, lead_id=lead_id)
        session.add(team)
    else:
        team.name, team.lead_id = clean_name, lead_id
    await session.flush()
    members = sorted(set(member_ids))
    await session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    if members:
        rows = [{"team_id": team.id, "user_id": m} for m in members]
        await session.execute(insert(TeamMember), rows)
    after = {"name": clean_name, "leadId": lead_id, "memberIds": members}
    action = "team.update" if before else "team.create"
    audit = changes.Audit(action, "Team", team.id, changes.diff(before, after))
    data = {"id": global_id("Team", team.id), "name": clean_name, **_ids(lead_id, members)}
    event = Event(EventType.TEAM_DEFINED, data, object_key=f"Team:{team.id}")
    await changes.record(session, actor=actor, audit=audit, events=event)
    return team


def _ids(lead_id: int, members: Sequence[int]) -> dict[str, Any]:
    return {
        "leadId": global_id("User", lead_id),
        "memberIds": [global_id("User", m) for m in members],
    }


async def _checked(
    session: AsyncSession,
    team_id: int | None,
    name: str,
    lead_id: int,
    member_ids: Sequence[int],
) -> str:
    checks = Checks()
    clean = checks.text("name", name, max_length=200, required=True)
    if len(member_ids) > MAX_MEMBERS:
        checks.fail("memberIds", f"A team has at most {MAX_MEMBERS} members.")
    checks.raise_if_any()
    assert clean is not None
    roles = {pk: role for pk, role in await session.execute(_roles_of({lead_id, *member_ids}))}
    if lead_id not in roles:
        checks.add(NotFoundError("No user with this id.", field="leadId"))
    elif roles[lead_id] is not Role.MANAGER:
        checks.fail("leadId", "A team's lead is a MANAGER.")
    if any(m not in roles for m in member_ids):
        checks.add(NotFoundError("No user with one of these ids.", field="memberIds"))
    checks.raise_if_any()
    taken = select(Team.id).where(Team.name == clean, Team.id != (team_id or 0))
    if await session.scalar(taken) is not None:
        raise AlreadyExistsError("A team with this name already exists.", field="name")
    return clean


def _roles_of(user_ids: set[int]) -> Any:
    return select(User.id, User.role).where(User.id.in_(user_ids))


async def _locked(session: AsyncSession, team_id: int) -> Team:
    query = select(Team).where(Team.id == team_id).with_for_update()
    team = await session.scalar(query.execution_options(populate_existing=True))
    if team is None:
        raise NotFoundError("No team with this id.", field="id")
    return team


async def _state(session: AsyncSession, team: Team) -> dict[str, Any]:
    members = await member_ids(session, team.id)
    return {"name": team.name, "leadId": team.lead_id, "memberIds": members}


async def member_ids(session: AsyncSession, team_id: int) -> list[int]:
    query = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
    return sorted(await session.scalars(query))


def teams_query(actor: Actor) -> Any:
    """The teams the caller reads, by name."""
    query = select(Team).order_by(Team.name, Team.id)
    if actor.may(READ_ALL_TEAMS):
        return query
    mine = select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)
    return query.where(Team.id.in_(mine))


async def list_teams(session: AsyncSession, *, actor: Actor) -> list[Team]:
    return list(await session.scalars(teams_query(actor)))


async def teams_by_id(session: AsyncSession, ids: Sequence[int]) -> list[Team | None]:
    found = {t.id: t for t in await session.scalars(select(Team).where(Team.id.in_(ids)))}
    return [found.get(i) for i in ids]


async def members_by_team(session: AsyncSession, ids: Sequence[int]) -> list[list[User]]:
    query = (
        select(TeamMember.team_id, User)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id.in_(ids))
        .order_by(User.name, User.id)
    )
    found: dict[int, list[User]] = {i: [] for i in ids}
    for team_id, user in await session.execute(query):
        found[team_id].append(user)
    return [found[i] for i in ids]


async def teams_by_user(session: AsyncSession, ids: Sequence[int]) -> list[list[Team]]:
    query = (
        select(TeamMember.user_id, Team)
        .join(Team, Team.id == TeamMember.team_id)
        .where(TeamMember.user_id.in_(ids))
        .order_by(Team.name, Team.id)
    )
    found: dict[int, list[Team]] = {i: [] for i in ids}
    for user_id, team in await session.execute(query):
        found[user_id].append(team)
    return [found[i] for i in ids]


async def set_record_visibility(
    session: AsyncSession, *, actor: Actor, visibility: RecordVisibility
) -> RecordVisibility:
    """Store the company's record visibility; it applies from the next request on."""
    before = await current(session)
    statement = pg_insert(OrgSetting).values(name=SETTING, value=visibility.value)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[OrgSetting.name],
            set_={"value": visibility.value, "updated_at": func.now()},
        )
    )
    delta = changes.diff({"visibility": before.value}, {"visibility": visibility.value})
    audit = changes.Audit("record_visibility.set", "OrgSetting", None, delta)
    data = {"visibility": visibility.value, "previous": before.value}
    event = Event(EventType.RECORD_VISIBILITY_CHANGED, data, object_key=f"OrgSetting:{SETTING}")
    await changes.record(session, actor=actor, audit=audit, events=event)
    return visibility
