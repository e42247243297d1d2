"""What an ingest writes per touched assignment: the derived columns set-based, without the
cadence trigger, through five indexes; and the pages that read those indexes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import cadence, ingest
from app.assignments.service import ASSIGNMENT_ORDER, AssignmentFilter, assignments_query
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.assignments import Assignment, BalanceStatus, CadenceStatus
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, day_start, noon, today
from tests.support import Api

CALLS = text(
    "SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions "
    "WHERE funcname = 'assignments_cadence'"
)
INDEXES = text("SELECT indexname FROM pg_indexes WHERE tablename = 'assignments'")


async def test_a_touched_assignment_is_written_through_five_indexes(session: AsyncSession) -> None:
    names = set((await session.execute(INDEXES)).scalars())
    assert names == {
        "pk_assignments",
        "uq_assignments_account_id_manager_type_user_id",
        "ix_assignments_next_contact_due_id",
        "ix_assignments_user_id_balance_status_next_contact_due_id",
        "ix_assignments_balance_as_of_balance_status_next_contact_due_id",
    }


async def _plan(session: AsyncSession, filter: AssignmentFilter) -> str:
    query = assignments_query(filter, datetime.now(UTC)).order_by(*ASSIGNMENT_ORDER).limit(50)
    compiled = query.compile(
        dialect=(await session.connection()).dialect, compile_kwargs={"literal_binds": True}
    )
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    rows = await session.execute(text(f"EXPLAIN {compiled}"))
    return "\n".join(rows.scalars())


async def test_the_overdue_and_balance_pages_can_read_an_index(session: AsyncSession) -> None:
    # With sequential scans priced out, a filter that no index serves still plans one.
    pages = {
        "organisation, overdue": AssignmentFilter(status=[CadenceStatus.OVERDUE]),
        "organisation, deficit": AssignmentFilter(balance=[BalanceStatus.DEFICIT]),
        "rep, overdue": AssignmentFilter(user_id=1, status=[CadenceStatus.OVERDUE]),
        "rep, deficit": AssignmentFilter(user_id=1, balance=[BalanceStatus.DEFICIT]),
    }
    for page, filter in pages.items():
        plan = await _plan(session, filter)
        assert "Seq Scan on assignments" not in plan, (page, plan)
        assert "ix_assignments_" in plan, (page, plan)
    plan = await _plan(session, AssignmentFilter(balance=[BalanceStatus.DEFICIT]))
    assert "ix_assignments_balance_as_of_balance_status_next_contact_due_id" in plan, plan
    await session.rollback()


async def _logged(session: AsyncSession, account_id: int, *days_ago: int) -> None:
    items = [
        ingest.ActivityInput(
            kind=ActivityKind.CALL_OUTBOUND, occurred_at=noon(n), account_id=account_id
        )
        for n in days_ago
    ]
    result = await ingest.log_activities(session, actor=SYSTEM, items=items, max_batch=10)
    assert result.rejected == []


async def test_logging_writes_the_derived_columns_without_the_cadence_trigger(api: Api) -> None:
    session = api.session
    rep = await api.caller(Role.REP)
    account = await create_account(session, "Acme")
    row = await create_assignment(
        session, account_id=account.id, user_id=rep.user_id, frequency=10, started_at=day_start(30)
    )
    await session.execute(text("SET LOCAL track_functions = 'pl'"))
    await _logged(session, account.id, 9, 2, 2)
    assert await session.scalar(CALLS) == 0
    stored = (
        await session.execute(
            select(Assignment)
            .where(Assignment.id == row.id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert stored.last_contact_at == noon(2)
    assert stored.contact_days == [noon(9).date(), noon(2).date()]
    assert stored.next_contact_due == cadence.next_contact_due(noon(2), day_start(30), 10)
    balance = cadence.contact_balance(
        stored.contact_days, started_at=day_start(30), frequency_days=10, today=today()
    )
    assert (stored.balance_status, stored.balance_as_of) == (balance.status.value, today())
    # Any other writer still gets the trigger: a new frequency moves the due date.
    await session.execute(
        text("UPDATE assignments SET contact_frequency_days = 20 WHERE id = :id"), {"id": row.id}
    )
    assert await session.scalar(CALLS) == 1
    due = await session.scalar(
        text("SELECT next_contact_due FROM assignments WHERE id = :id"), {"id": row.id}
    )
    assert due == cadence.next_contact_due(noon(2), day_start(30), 20)
    await session.rollback()
