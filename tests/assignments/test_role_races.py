"""Who can hold accounts stays true under races: a role change to INTEGRATION and the writers
of assignments (assignAccount, bulkReassign, assignment rules) never pass each other, and rules
skip members who can no longer hold accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.accounts import service as accounts
from app.assignments import bulk
from app.assignments import service as assignments
from app.auth import service as auth
from app.errors import InvalidInputError
from app.kit.actor import SYSTEM
from app.models.assignments import Assignment, BulkMode, ManagerType
from app.models.auth import Role, User
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.support import Api, Caller

Writer = Callable[[AsyncSession, int, int], Awaitable[Any]]


async def _assign(session: AsyncSession, account_id: int, user_id: int) -> Any:
    return await assignments.assign_account(
        session,
        actor=SYSTEM,
        account_id=account_id,
        user_id=user_id,
        manager_type=ManagerType.SALES,
        contact_frequency_days=30,
    )


async def _replace(session: AsyncSession, account_id: int, user_id: int) -> Any:
    held = (
        await session.scalars(select(Assignment.id).where(Assignment.account_id == account_id))
    ).one()
    return await bulk.bulk_reassign(
        session, actor=SYSTEM, mode=BulkMode.REPLACE, to_user_id=user_id, assignment_ids=[held]
    )


async def _user(session: AsyncSession, role: Role = Role.REP) -> int:
    n = await session.scalar(select(func.count()).select_from(User))
    user = await auth.create_user(
        session, actor=SYSTEM, email=f"u{n}@example.org", name=f"U{n}", role=role
    )
    await session.commit()
    return user.id


async def _demote(session: AsyncSession, user_id: int) -> None:
    changes: auth.UserChanges = {"role": Role.INTEGRATION}
    await auth.update_user(session, actor=SYSTEM, user_id=user_id, changes=changes)


async def _held_by(session: AsyncSession, user_id: int) -> int:
    query = select(func.count()).select_from(Assignment).where(Assignment.user_id == user_id)
    return int(await session.scalar(query) or 0)


@pytest.mark.parametrize("writer", [_assign, _replace], ids=["assignAccount", "bulkReplace"])
async def test_an_assignment_waits_for_a_demotion_and_is_refused(
    session: AsyncSession, engine: AsyncEngine, writer: Writer
) -> None:
    rep, other = await _user(session), await _user(session)
    account = await create_account(session, "Acme")
    if writer is _replace:
        await create_assignment(session, account_id=account.id, user_id=other)
    sessions = db.create_sessionmaker(engine)
    async with sessions() as one, sessions() as two:
        await _demote(one, rep)

        async def write() -> None:
            await writer(two, account.id, rep)
            await two.commit()

        racing = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not racing.done()  # waits for the role change's lock on the user
        await one.commit()
        with pytest.raises(InvalidInputError, match="Integrations cannot hold accounts"):
            await racing

    assert await session.scalar(select(User.role).where(User.id == rep)) is Role.INTEGRATION
    assert await _held_by(session, rep) == 0


async def test_a_demotion_waits_for_an_assignment_and_is_refused(
    session: AsyncSession, engine: AsyncEngine
) -> None:
    rep = await _user(session)
    account = await create_account(session, "Acme")
    sessions = db.create_sessionmaker(engine)
    async with sessions() as one, sessions() as two:
        await _assign(one, account.id, rep)

        async def demote() -> None:
            await _demote(two, rep)
            await two.commit()

        racing = asyncio.create_task(demote())
        await asyncio.sleep(0.3)
        assert not racing.done()
        await one.commit()
        with pytest.raises(InvalidInputError, match="reassign this user's assignments first"):
            await racing

    assert await session.scalar(select(User.role).where(User.id == rep)) is Role.REP
    assert await _held_by(session, rep) == 1


def _rule(members: list[Caller]) -> dict[str, Any]:
    return {
        "name": "DACH sales",
        "position": 1,
        "managerType": "SALES",
        "criteria": {"countryCodes": ["DE"]},
        "members": [{"userId": c.id, "weight": 1} for c in members],
    }


async def test_rules_skip_a_member_demoted_to_integration(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    kept, demoted = await api.caller(Role.REP), await api.caller(Role.REP)
    defined = await api.op("DefineAssignmentRule", {"input": _rule([kept, demoted])}, caller=admin)
    assert defined["defineAssignmentRule"]["errors"] == []
    changed = await api.op(
        "UpdateUser", {"input": {"id": demoted.id, "role": "INTEGRATION"}}, caller=admin
    )
    assert changed["updateUser"]["errors"] == []

    for n in range(3):
        await create_account(api.session, name=f"Farm {n}", country_code="DE")

    assert await _held_by(api.session, demoted.user_id) == 0
    assert await _held_by(api.session, kept.user_id) == 3


async def test_rules_wait_for_a_demotion_and_skip_the_member(api: Api, engine: AsyncEngine) -> None:
    admin = await api.caller(Role.ADMIN)
    demoted = await api.caller(Role.REP)
    defined = await api.op("DefineAssignmentRule", {"input": _rule([demoted])}, caller=admin)
    assert defined["defineAssignmentRule"]["errors"] == []
    sessions = db.create_sessionmaker(engine)
    async with sessions() as one, sessions() as two:
        await _demote(one, demoted.user_id)

        async def create() -> None:
            await accounts.create_account(two, actor=SYSTEM, name="Farm", country_code="DE")
            await two.commit()

        racing = asyncio.create_task(create())
        await asyncio.sleep(0.3)
        assert not racing.done()  # the rule waits for the role change's lock on the member
        await one.commit()
        await racing

    assert await _held_by(api.session, demoted.user_id) == 0
