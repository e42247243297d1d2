"""Which accounts a caller reads under the company's record visibility (ALL, TEAM, OWN).

ALL (the default) shows every account to everyone. Under OWN a REP reads the accounts they
hold (an assignment, or a pipeline entry they own); under TEAM also those their teams'
members hold. Callers granted READ_ALL by the rule table (managers, admins, integrations)
and the server's own work read everything. Contacts, activities, plans and tasks follow
their account.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, literal, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CompoundSelect

from app.kit.actor import Actor
from app.models.accounts import Account
from app.models.assignments import Assignment
from app.models.handoff import PipelineEntry
from app.models.leads import Lead
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
    return readers_of(actor.user_id, visibility)


def readers_of(user_id: int, visibility: RecordVisibility) -> Ids:
    """The users whose accounts a REP `user_id` reads under TEAM or OWN."""
    me = select(literal(user_id, BigInteger))
    if visibility is RecordVisibility.OWN:
        return me
    mine = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
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


Seen = tuple[int, RecordVisibility]  # a REP's user id, and a visibility other than ALL


def seen_clause(column: Any, seen: Seen) -> ColumnElement[bool]:
    """A condition on an account id column keeping what the REP of `seen` reads."""
    result: ColumnElement[bool] = column.in_(held_by(readers_of(*seen)))
    return result


def account_id_clause(
    column: Any, actor: Actor, visibility: RecordVisibility
) -> ColumnElement[bool] | None:
    """The same on a row's account id column (a contact's, an activity's): None when all."""
    users = readers(actor, visibility)
    return None if users is None else column.in_(held_by(users))


def lead_clause(actor: Actor, visibility: RecordVisibility) -> ColumnElement[bool] | None:
    """Leads follow their owner: a REP reads the leads owned by the users they read."""
    users = readers(actor, visibility)
    return None if users is None else Lead.owner_id.in_(users)


async def visible_among(
    session: AsyncSession, keys: Sequence[tuple[int, int, RecordVisibility]]
) -> list[bool]:
    """Whether each (account id, REP's user id, visibility) is visible: a DataLoader's batch
    (one request's keys share the user and the visibility)."""
    _, user_id, visibility = keys[0]
    wanted = {key[0] for key in keys}
    shown = Account.id.in_(held_by(readers_of(user_id, visibility)))
    found = set(await session.scalars(select(Account.id).where(Account.id.in_(wanted), shown)))
    return [key[0] in found for key in keys]


async def reads_user(
    session: AsyncSession, keys: Sequence[tuple[int | None, int, RecordVisibility]]
) -> list[bool]:
    """Whether a REP reads the rows (leads) each user owns: a DataLoader's batch, as above."""
    _, user_id, visibility = keys[0]
    users = set(await session.scalars(readers_of(user_id, visibility)))
    return [key[0] in users for key in keys]


async def account_filter(session: AsyncSession, actor: Actor) -> ColumnElement[bool] | None:
    """account_clause under the company's current setting."""
    return account_clause(actor, await current(session))
