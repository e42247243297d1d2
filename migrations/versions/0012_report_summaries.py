"""report summaries: per-day stage, handoff and blocked-attempt sums kept by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 00:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.handoff import summary_sql
from app.planning import revenue_sql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY_TABLES = [*summary_sql.STAGE_TABLES, *summary_sql.BLOCKED_TABLES]
PLANNING_TABLES = ["churn_years", "revenue_window_anchor", "account_revenue_window"]
WAIT = sa.text("(extract(epoch FROM accepted_at - occurred_at)::float8)")


def _day_table(name: str, keys: list[sa.Column[object]], counts: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *keys,
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in counts),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "day", *(k.name for k in keys), name=op.f(f"pk_{name}")
        ),
    )


def upgrade() -> None:
    stage = sa.Column("from_stage", sa.String(length=64), nullable=False)
    _day_table(
        "stage_day_pairs",
        [
            stage,
            sa.Column("to_stage", sa.String(length=64), nullable=False),
            sa.Column("shard", sa.SmallInteger(), nullable=False),
        ],
        ["events", "touches"],
    )
    _day_table(
        "stage_day_stays",
        [
            sa.Column("from_stage", sa.String(length=64), nullable=False),
            sa.Column("bucket", sa.Integer(), nullable=False),
            sa.Column("shard", sa.SmallInteger(), nullable=False),
        ],
        ["stays"],
    )
    _day_table(
        "handoff_days",
        [sa.Column("shard", sa.SmallInteger(), nullable=False)],
        ["handoffs", "accepted"],
    )
    _day_table(
        "handoff_day_waits", [sa.Column("bucket", sa.Integer(), nullable=False)], ["accepted"]
    )
    _day_table(
        "handoff_day_missing",
        [sa.Column("requirement", sa.String(length=100), nullable=False)],
        ["handoffs"],
    )
    _day_table(
        "blocked_day_missing",
        [sa.Column("requirement", sa.String(length=100), nullable=False)],
        ["attempts"],
    )
    # Accepted handoffs in wait order: the median's rows are found without reading the range.
    op.create_index(
        "ix_stage_events_handoff_waits",
        "stage_events",
        [sa.literal_column("pipeline_id"), WAIT],
        postgresql_include=["occurred_at", "accepted_at"],
        postgresql_where=sa.text("is_handoff AND accepted_at IS NOT NULL"),
    )
    op.create_table(
        "churn_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.Column("churned", sa.BigInteger(), nullable=False),
        sa.Column("revenue_at_start", sa.Numeric(), nullable=False),
        sa.Column("revenue_lost", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("year", "shard", name=op.f("pk_churn_years")),
    )
    op.create_table(
        "revenue_window_anchor",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_window_anchor")),
    )
    op.create_table(
        "account_revenue_window",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_revenue_window")),
    )
    for statement in [*summary_sql.CREATE, revenue_sql.REVENUE_FUNCTION]:
        op.execute(statement)
    backfill = [revenue_sql.BACKFILL, revenue_sql.ANCHOR, revenue_sql.WINDOW_BACKFILL]
    for statement in [*summary_sql.BACKFILL, *backfill]:
        op.execute(statement)
    op.execute("ANALYZE " + ", ".join([*SUMMARY_TABLES, *PLANNING_TABLES]))


def downgrade() -> None:
    for statement in [revenue_sql.REVENUE_FUNCTION_0008, *summary_sql.DROP]:
        op.execute(statement)
    for statement in summary_sql.DROP_FUNCTIONS:
        op.execute(statement)
    op.drop_index("ix_stage_events_handoff_waits", table_name="stage_events")
    for name in [*PLANNING_TABLES, *SUMMARY_TABLES]:
        op.drop_table(name)
