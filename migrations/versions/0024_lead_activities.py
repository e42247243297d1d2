"""activities on leads: an activity names an account or a lead

A lead's calls and e-mails are logged on the lead (`lead_id`, no account) and move to the
account on conversion (`account_id` set, `lead_id` kept as where they came from). A row
without an account carries no amount: the revenue trigger (planning_account_revenue_years)
and everything summed per account never see an account-less row with money.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("activities", sa.Column("lead_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_activities_lead_id_leads"), "activities", "leads", ["lead_id"], ["id"]
    )
    op.create_index(
        "ix_activities_lead_id_occurred_at_id",
        "activities",
        ["lead_id", "occurred_at", "id"],
        postgresql_where=sa.text("lead_id IS NOT NULL"),
    )
    op.alter_column("activities", "account_id", existing_type=sa.BigInteger(), nullable=True)
    op.create_check_constraint(
        op.f("ck_activities_account_or_lead"),
        "activities",
        "account_id IS NOT NULL OR lead_id IS NOT NULL",
    )
    op.create_check_constraint(
        op.f("ck_activities_amount_needs_account"),
        "activities",
        "account_id IS NOT NULL OR amount IS NULL",
    )


def downgrade() -> None:
    # Fails while a lead activity has no account: convert the lead or delete its activities.
    op.drop_constraint(op.f("ck_activities_amount_needs_account"), "activities", type_="check")
    op.drop_constraint(op.f("ck_activities_account_or_lead"), "activities", type_="check")
    op.alter_column("activities", "account_id", existing_type=sa.BigInteger(), nullable=False)
    op.drop_index("ix_activities_lead_id_occurred_at_id", table_name="activities")
    op.drop_constraint(op.f("fk_activities_lead_id_leads"), "activities", type_="foreignkey")
    op.drop_column("activities", "lead_id")
