"""A small data set of every kind, so generated ids and references point at real rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.kit.actor import SYSTEM
from app.models.accounts import BuyingRole
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.planning import items
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, log
from tests.planning.factories import create_plan
from tests.support import Api, Caller

ACCOUNTS = 8


async def seed(api: Api) -> dict[Role, Caller]:
    """One caller per role; accounts (some branches) with contacts, a plan, activities.

    The REP is assigned to the first three accounts, so some of its writes are allowed.
    """
    session = api.session
    callers = {role: await api.caller(role) for role in Role}
    rep, manager = callers[Role.REP], callers[Role.MANAGER]
    parent_id: int | None = None
    now = datetime.now(UTC)
    for n in range(ACCOUNTS):
        account = await create_account(
            session,
            name=f"Fuzz {n}",
            external_ref=f"FUZZ-{n}",
            industry="Agriculture",
            parent_id=parent_id if n % 3 == 2 else None,
        )
        parent_id = account.id if n % 3 == 0 else parent_id
        await create_contact(session, account, name=f"Contact {n}", role=BuyingRole.DECISION_MAKER)
        owner = rep if n < 3 else manager
        await create_assignment(
            session, account_id=account.id, user_id=owner.user_id, manager_type=ManagerType.SALES
        )
        await log(
            session,
            account_id=account.id,
            occurred_at=now - timedelta(days=n + 1),
            kind=ActivityKind.INVOICE,
            external_id=f"seed-{n}",
            amount=Decimal("100.50"),
        )
        if n < 2:
            plan = await create_plan(session, account)
            await items.add_goal(session, actor=SYSTEM, plan_id=plan.id, title="Grow")
            await items.add_action(session, actor=SYSTEM, plan_id=plan.id, title="Call")
            await session.commit()
    return callers
