"""Each requirement kind is read from the foundation's tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth
from app.handoff import requirements
from app.kit.actor import SYSTEM
from app.models.accounts import BuyingRole
from app.models.assignments import Assignment, ManagerType
from app.models.auth import Role
from app.models.planning import AccountPlan, PlanStatus
from tests.accounts.factories import create_account, create_contact
from tests.handoff.factories import log_activity

NAMES = (
    "field:industry",
    "field:website",
    "attribute:budget",
    "attribute:timeline",
    "attribute:notes",
    "attribute:owner",
    "contact_role:DECISION_MAKER",
    "contact_role:CHAMPION",
    "activity_within:30",
    "activity_within:3",
    "plan:active",
    "assignment:SALES",
    "assignment:PARTS",
)


async def test_requirements_are_evaluated_from_the_database(session: AsyncSession) -> None:
    account = await create_account(
        session,
        industry="Retail",
        website="   ",
        attributes={"budget": 0, "timeline": "", "notes": [], "owner": None},
    )
    await create_contact(session, account, role=BuyingRole.CHAMPION)
    await log_activity(session, account.id, datetime.now(UTC) - timedelta(days=10))
    user = await auth.create_user(
        session, actor=SYSTEM, email="s@example.org", name="S", role=Role.REP
    )
    today = datetime.now(UTC).date()
    session.add_all(
        [
            Assignment(
                account_id=account.id,
                user_id=user.id,
                manager_type=ManagerType.SALES,
                contact_frequency_days=30,
                started_at=datetime.now(UTC),
            ),
            AccountPlan(
                account_id=account.id,
                status=PlanStatus.ACTIVE,
                period_start=today - timedelta(days=400),
                period_end=today - timedelta(days=1),
            ),
            AccountPlan(
                account_id=account.id,
                status=PlanStatus.DRAFT,
                period_start=today,
                period_end=today + timedelta(days=30),
            ),
        ]
    )
    await session.commit()

    since = datetime.now(UTC) - timedelta(days=20)
    facts = await requirements.evaluate(session, account.id, NAMES, stay_began=since)

    assert facts.met == {
        "field:industry",
        "attribute:budget",
        "contact_role:CHAMPION",
        "activity_within:30",
        "assignment:SALES",
    }
    assert facts.clock.tzinfo is not None
    assert facts.touches == 1

    session.add(
        AccountPlan(
            account_id=account.id,
            status=PlanStatus.ACTIVE,
            period_start=today,
            period_end=date(today.year + 1, 1, 1),
        )
    )
    await session.commit()
    later = await requirements.evaluate(
        session, account.id, ("plan:active",), stay_began=datetime.now(UTC)
    )
    assert later.met == {"plan:active"}
    assert later.touches == 0
