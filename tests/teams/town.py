"""A small company to read under each record visibility: two teams and four accounts.

North (lead: the manager) has Rhea and Remo, South has Sol. Rhea holds "Mine" (an
assignment), Remo owns "Mate"'s pipeline entry, Sol holds "Other", nobody holds "Loose".
Rhea reads all four under ALL, Mate and Mine under TEAM, Mine under OWN.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.assignments.service import assign_account
from app.kit.actor import SYSTEM, Actor
from app.models.accounts import Account
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.models.teams import RecordVisibility
from app.teams import service as teams
from tests.support import Api, Caller

VISIBLE = {
    RecordVisibility.ALL: ["Loose", "Mate", "Mine", "Other"],
    RecordVisibility.TEAM: ["Mate", "Mine"],
    RecordVisibility.OWN: ["Mine"],
}


@dataclass(frozen=True, slots=True)
class Town:
    admin: Caller
    manager: Caller
    rhea: Caller
    remo: Caller
    sol: Caller
    accounts: dict[str, Account]


async def _assign(session: AsyncSession, account: Account, user: Caller) -> None:
    await assign_account(
        session,
        actor=SYSTEM,
        account_id=account.id,
        user_id=user.user_id,
        manager_type=ManagerType.SALES,
        contact_frequency_days=30,
    )


async def build(api: Api) -> Town:
    s = api.session
    admin = await api.caller(Role.ADMIN, name="Ada Admin")
    manager = await api.caller(Role.MANAGER, name="Mona Manager")
    rhea = await api.caller(Role.REP, name="Rhea Rep")
    remo = await api.caller(Role.REP, name="Remo Rep")
    sol = await api.caller(Role.REP, name="Sol Rep")
    made = {
        name: await accounts.create_account(s, actor=SYSTEM, name=name)
        for name in VISIBLE[RecordVisibility.ALL]
        if name != "Mate"
    }
    as_remo = Actor(user_id=remo.user_id, role=Role.REP)
    made["Mate"] = await accounts.create_account(s, actor=as_remo, name="Mate")
    await _assign(s, made["Mine"], rhea)
    await _assign(s, made["Other"], sol)
    for name, members in (("North", [rhea, remo]), ("South", [sol])):
        await teams.define_team(
            s,
            actor=SYSTEM,
            team_id=None,
            name=name,
            lead_id=manager.user_id,
            member_ids=[m.user_id for m in members],
        )
    await s.commit()
    return Town(admin, manager, rhea, remo, sol, made)


async def set_visibility(api: Api, visibility: RecordVisibility) -> None:
    await teams.set_record_visibility(api.session, actor=SYSTEM, visibility=visibility)
    await api.session.commit()
