"""the reminder loop's queue of assignments not yet reminded of their current due date

Every server's reminder loop (app/tasks/reminders.py) looks for assignments gone overdue
every ACCOUNTFLOW_REMINDER_INTERVAL seconds; this partial index holds only those whose
current next_contact_due has not been reminded of, so a round reads the newly overdue ones
instead of every overdue assignment.

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-08 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "overdue_notified_due IS DISTINCT FROM next_contact_due"


def upgrade() -> None:
    op.create_index(
        "ix_assignments_overdue_queue",
        "assignments",
        ["next_contact_due"],
        unique=False,
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_assignments_overdue_queue", table_name="assignments", postgresql_where=sa.text(WHERE)
    )
