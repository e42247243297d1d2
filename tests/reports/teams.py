"""Teams for report tests, inserted directly (defineTeam is another part of issue 21)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.models.teams import Team, TeamMember
from schema.relay import to_global_id


async def create_team(session: AsyncSession, name: str, *, lead_id: int, members: list[int]) -> str:
    """The team's global id."""
    team = Team(name=name, lead_id=lead_id)
    session.add(team)
    await session.flush()
    session.add_all([TeamMember(team_id=team.id, user_id=user_id) for user_id in members])
    await session.commit()
    return to_global_id("Team", team.id)
