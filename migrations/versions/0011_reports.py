"""reports: an index of stays per owner for stageThroughput.byOwner

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 21:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_stage_events_owner_stays",
        "stage_events",
        ["pipeline_id", "from_owner_id", "from_stage", "seconds_in_previous_stage"],
        postgresql_include=["occurred_at", "to_stage", "to_owner_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_stage_events_owner_stays", table_name="stage_events")
