"""What an ingest writes per touched assignment, and the pages that read those indexes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.assignments.service import ASSIGNMENT_ORDER, AssignmentFilter, assignments_query
from app.models.assignments import BalanceStatus, CadenceStatus

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
