"""Reports about people's work narrowed to a team: its members (the team_members rows)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.errors import InvalidInputError
from app.models.teams import Team, TeamMember

FIELD = "filter.teamId"


async def check_team(session: AsyncSession, team_id: int | None, field: str = FIELD) -> None:
    """INVALID_INPUT naming `field` when a team is asked for and there is no such team."""
    if team_id is None:
        return
    if not await session.scalar(select(exists().where(Team.id == team_id))):
        raise InvalidInputError("Unknown team.", field=field)


def in_team(user_id: InstrumentedAttribute[int | None], team_id: int) -> ColumnElement[bool]:
    """The rows whose user (an owner, an assignee) is a member of the team."""
    members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
    return user_id.in_(members)
