"""a plan's narrative (challenges, strategy); handoff next steps by due date

- account_plans.challenges and .strategy: free text, settable on createPlan/updatePlan.
- ix_stage_events_next_steps: accepted handoffs by next step due, the overdue list's order.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEXT_STEPS_WHERE = "is_handoff AND accepted_at IS NOT NULL AND next_step_due IS NOT NULL"


def upgrade() -> None:
    op.add_column("account_plans", sa.Column("challenges", sa.Text(), nullable=True))
    op.add_column("account_plans", sa.Column("strategy", sa.Text(), nullable=True))
    op.create_index(
        "ix_stage_events_next_steps",
        "stage_events",
        ["next_step_due", "id"],
        unique=False,
        postgresql_where=sa.text(NEXT_STEPS_WHERE),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_stage_events_next_steps",
        table_name="stage_events",
        postgresql_where=sa.text(NEXT_STEPS_WHERE),
    )
    op.drop_column("account_plans", "strategy")
    op.drop_column("account_plans", "challenges")
