"""Which accounts a caller reads under the company's record visibility (ALL, TEAM, OWN).

ALL (the default) shows every account to everyone. Under OWN a REP reads the accounts they
hold (an assignment, or a pipeline entry they own); under TEAM also those their teams'
members hold. Callers granted READ_ALL by the rule table (managers, admins, integrations)
and the server's own work read everything. Contacts, activities, plans and tasks follow
their account.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CompoundSelect

from app.kit.actor import Actor
from app.models.accounts import Account
from app.models.assignments import Assignment
from app.models.handoff import PipelineEntry
from app.models.teams import OrgSetting, RecordVisibility, TeamMember

Ids = Select[Any] | CompoundSelect[Any]

READ_ALL = "account.read_all"
SETTING = "record_visibility"


async def current(session: AsyncSession) -> RecordVisibility:
    """The company's record visibility (ALL until an ADMIN sets it)."""
    value = await session.scalar(select(OrgSetting.value).where(OrgSetting.name == SETTING))
    return RecordVisibility(value) if value else RecordVisibility.ALL


def readers(actor: Actor, visibility: RecordVisibility) -> Ids | None:
    """The users whose accounts the caller reads; None when the caller reads every account."""
    if visibility is RecordVisibility.ALL or actor.user_id is None or actor.may(READ_ALL):
        return None
    me = select(literal(actor.user_id, BigInteger))
    if visibility is RecordVisibility.OWN:
        return me
    mine = select(TeamMember.team_id).where(TeamMember.user_id == actor.user_id)
    mates = select(TeamMember.user_id).where(TeamMember.team_id.in_(mine))
    return union(me, mates)


def held_by(users: Ids) -> CompoundSelect[Any]:
    """The ids of the accounts any of `users` holds."""
    assigned = select(Assignment.account_id).where(Assignment.user_id.in_(users))
    owned = select(PipelineEntry.account_id).where(PipelineEntry.owner_id.in_(users))
    return union(assigned, owned)


def account_clause(actor: Actor, visibility: RecordVisibility) -> ColumnElement[bool] | None:
    """A condition on Account rows keeping the visible ones; None when all are visible."""
    users = readers(actor, visibility)
    return None if users is None else Account.id.in_(held_by(users))


async def account_filter(session: AsyncSession, actor: Actor) -> ColumnElement[bool] | None:
    """account_clause under the company's current setting."""
    return account_clause(actor, await current(session))
