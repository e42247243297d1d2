"""A contact-rule change: the mutation locks no assignment; the job rebuilds them in batches."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import db
from app.activities import rebuild
from app.activities.rules import set_contact_rule
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind, ContactRule
from app.models.assignments import Assignment, ManagerType
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, log, noon


async def arrange(session: AsyncSession) -> tuple[list[int], int, int]:
    """Five SALES assignments and one PARTS; each account has a visit and a call by the rep."""
    rep = await auth.create_user(session, actor=SYSTEM, email="r@x.org", name="R", role=Role.REP)
    await session.commit()
    sales: list[int] = []
    parts = 0
    for n in range(5):
        account = await create_account(session, f"A{n}")
        row = await create_assignment(session, account_id=account.id, user_id=rep.id)
        sales.append(row.id)
        if n == 0:
            extra = await create_assignment(
                session, account_id=account.id, user_id=rep.id, manager_type=ManagerType.PARTS
            )
            parts = extra.id
        await log(session, account_id=account.id, occurred_at=noon(2), kind=ActivityKind.VISIT)
        await log(session, account_id=account.id, occurred_at=noon(10 + n), user_id=rep.id)
    return sales, parts, rep.id


async def change_rule(session: AsyncSession) -> None:
    await set_contact_rule(
        session,
        actor=SYSTEM,
        manager_type=ManagerType.SALES,
        kinds=[ActivityKind.CALL_OUTBOUND],
        assignee_only=True,
    )


async def last_contacts(session: AsyncSession) -> dict[int, object]:
    rows = await session.execute(select(Assignment.id, Assignment.last_contact_at))
    return dict(rows.all())


async def test_the_job_rebuilds_in_batches_and_clears_the_flag(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    sales, parts, _ = await arrange(session)
    assert set((await last_contacts(session)).values()) == {noon(2)}
    await change_rule(session)
    await session.commit()
    # Nothing rebuilt by the change itself...
    assert set((await last_contacts(session)).values()) == {noon(2)}
    done = await rebuild.rebuild_pending(engine, db.create_sessionmaker(engine), batch_size=2)
    assert (done.assignments, done.batches) == (5, 3)
    found = await last_contacts(session)
    assert [found[i] for i in sales] == [noon(10 + n) for n in range(5)]
    assert found[parts] == noon(2)  # another manager type: untouched
    days = await session.scalar(select(Assignment.contact_days).where(Assignment.id == sales[0]))
    assert days == [noon(10).date()]
    pending = await session.scalar(select(func.count()).where(ContactRule.rebuild_pending))
    assert pending == 0
    again = await rebuild.rebuild_pending(engine, db.create_sessionmaker(engine), batch_size=2)
    assert again.assignments == 0


async def test_the_change_holds_no_assignment_lock(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    sales, _, _ = await arrange(session)
    await change_rule(session)  # its transaction stays open
    async with engine.connect() as other:
        await other.execute(text("SET lock_timeout = '100ms'"))
        locked = await other.scalars(
            text("SELECT id FROM assignments ORDER BY id FOR UPDATE NOWAIT")
        )
        assert len(list(locked)) == len(sales) + 1
    await session.rollback()


async def test_a_rule_changed_during_a_rebuild_stays_pending(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    await arrange(session)
    await change_rule(session)
    await session.commit()
    seen = await session.scalar(
        select(ContactRule.updated_at).where(ContactRule.manager_type == ManagerType.SALES)
    )
    assert seen is not None
    await set_contact_rule(
        session,
        actor=SYSTEM,
        manager_type=ManagerType.SALES,
        kinds=[ActivityKind.VISIT],
        assignee_only=False,
    )
    await session.commit()
    await rebuild._done(db.create_sessionmaker(engine), ManagerType.SALES, seen)
    pending = await session.scalar(
        select(ContactRule.rebuild_pending).where(ContactRule.manager_type == ManagerType.SALES)
    )
    assert pending is True


async def test_one_runner_at_a_time(engine: AsyncEngine, session: AsyncSession) -> None:
    await arrange(session)
    await change_rule(session)
    await session.commit()
    async with engine.connect() as other:
        await other.scalar(select(func.pg_advisory_lock(rebuild.RUNNER_LOCK)))
        sessionmaker = db.create_sessionmaker(engine)
        busy = await rebuild.rebuild_pending(engine, sessionmaker, batch_size=2)
        assert busy.assignments == 0
        await other.scalar(select(func.pg_advisory_unlock(rebuild.RUNNER_LOCK)))
    done = await rebuild.rebuild_pending(engine, sessionmaker, batch_size=2)
    assert done.assignments == 5
