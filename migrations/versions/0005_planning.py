"""planning: plan figures, goals, actions, white space; revenue indexes on activities

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


UPSERT = """
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM ({rows}) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;"""
NEW = "SELECT account_id, occurred_at, kind, amount FROM new_rows"
OLD = "SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows"

# Keeps account_revenue_years in step with revenue activities, once per statement. Rows
# are upserted in key order so that concurrent batches take their row locks in one order.
TRIGGER_FUNCTION = f"""
CREATE FUNCTION planning_account_revenue_years() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{UPSERT.format(rows=NEW)}
    ELSIF TG_OP = 'UPDATE' THEN{UPSERT.format(rows=NEW + " UNION ALL " + OLD)}
    ELSE{UPSERT.format(rows=OLD)}
    END IF;
    RETURN NULL;
END $$;
"""
TRIGGERS = {
    "insert": "AFTER INSERT ON activities REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON activities REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON activities REFERENCING OLD TABLE AS old_rows",
}
BACKFILL = UPSERT.format(rows="SELECT account_id, occurred_at, kind, amount FROM activities")


def create_revenue_years() -> None:
    op.create_table(
        "account_revenue_years",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "year", name=op.f("pk_account_revenue_years")),
    )
    op.create_index(
        "ix_account_revenue_years_customers",
        "account_revenue_years",
        ["account_id", "year"],
        unique=False,
        postgresql_include=["revenue"],
        postgresql_where=sa.text("revenue > 0"),
    )
    op.execute(TRIGGER_FUNCTION)
    for event, clause in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER planning_revenue_years_{event} {clause} "
            "FOR EACH STATEMENT EXECUTE FUNCTION planning_account_revenue_years()"
        )
    op.execute(BACKFILL)


def drop_revenue_years() -> None:
    for event in TRIGGERS:
        op.execute(f"DROP TRIGGER planning_revenue_years_{event} ON activities")
    op.execute("DROP FUNCTION planning_account_revenue_years()")
    op.drop_index("ix_account_revenue_years_customers", table_name="account_revenue_years")
    op.drop_table("account_revenue_years")


def upgrade() -> None:
    op.create_table(
        "plan_actions",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "DONE",
                "CANCELLED",
                name="action_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_plan_actions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_plan_actions_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["account_plans.id"], name=op.f("fk_plan_actions_plan_id_account_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_actions")),
    )
    op.create_index(op.f("ix_plan_actions_plan_id"), "plan_actions", ["plan_id"], unique=False)
    op.create_table(
        "plan_goals",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=100), nullable=True),
        sa.Column("target", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "OPEN",
                "ACHIEVED",
                "MISSED",
                name="goal_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_plan_goals_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["account_plans.id"], name=op.f("fk_plan_goals_plan_id_account_plans")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_goals")),
    )
    op.create_index(op.f("ix_plan_goals_plan_id"), "plan_goals", ["plan_id"], unique=False)
    op.create_table(
        "plan_white_space",
        sa.Column("plan_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "DIVISION",
                "LOCATION",
                "DEPARTMENT",
                "PRODUCT",
                "COMPETITOR",
                name="white_space_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("estimated_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "IDENTIFIED",
                "PURSUING",
                "WON",
                "LOST",
                name="white_space_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_plan_white_space_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["account_plans.id"],
            name=op.f("fk_plan_white_space_plan_id_account_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_white_space")),
    )
    op.create_index(
        op.f("ix_plan_white_space_plan_id"), "plan_white_space", ["plan_id"], unique=False
    )
    op.add_column(
        "account_plans", sa.Column("executive_sponsor_id", sa.BigInteger(), nullable=True)
    )
    op.add_column(
        "account_plans",
        sa.Column(
            "growth_target_pct",
            sa.Numeric(precision=7, scale=2),
            server_default="0",
            nullable=False,
        ),
    )
    op.add_column(
        "account_plans",
        sa.Column(
            "planned_net_new", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "account_plans",
        sa.Column(
            "price_change_pct", sa.Numeric(precision=7, scale=2), server_default="0", nullable=False
        ),
    )
    op.add_column(
        "account_plans", sa.Column("churn_rate", sa.Numeric(precision=7, scale=6), nullable=True)
    )
    op.add_column("account_plans", sa.Column("satisfaction", sa.Integer(), nullable=True))
    op.add_column("account_plans", sa.Column("review_frequency_days", sa.Integer(), nullable=True))
    op.add_column(
        "account_plans", sa.Column("last_reviewed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "account_plans", sa.Column("next_review_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("account_plans", sa.Column("renewal_date", sa.Date(), nullable=True))
    op.create_index(
        "ix_account_plans_active_period",
        "account_plans",
        ["period_start", "period_end"],
        unique=False,
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.create_index(
        "ix_account_plans_open_renewal",
        "account_plans",
        ["renewal_date", "id"],
        unique=False,
        postgresql_where=sa.text("status <> 'CLOSED'"),
    )
    op.create_index(
        "ix_account_plans_open_review",
        "account_plans",
        ["next_review_at", "id"],
        unique=False,
        postgresql_where=sa.text("status <> 'CLOSED'"),
    )
    op.create_foreign_key(
        op.f("fk_account_plans_executive_sponsor_id_users"),
        "account_plans",
        "users",
        ["executive_sponsor_id"],
        ["id"],
    )
    op.create_index(
        "ix_activities_revenue_account",
        "activities",
        ["account_id", "occurred_at"],
        unique=False,
        postgresql_include=["amount"],
        postgresql_where=sa.text("kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')"),
    )
    op.create_index(
        "ix_activities_revenue_time",
        "activities",
        ["occurred_at"],
        unique=False,
        postgresql_include=["account_id", "amount"],
        postgresql_where=sa.text("kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')"),
    )
    create_revenue_years()


def downgrade() -> None:
    drop_revenue_years()
    op.drop_index(
        "ix_activities_revenue_time",
        table_name="activities",
        postgresql_include=["account_id", "amount"],
        postgresql_where=sa.text("kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')"),
    )
    op.drop_index(
        "ix_activities_revenue_account",
        table_name="activities",
        postgresql_include=["amount"],
        postgresql_where=sa.text("kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER')"),
    )
    op.drop_constraint(
        op.f("fk_account_plans_executive_sponsor_id_users"), "account_plans", type_="foreignkey"
    )
    op.drop_index(
        "ix_account_plans_open_review",
        table_name="account_plans",
        postgresql_where=sa.text("status <> 'CLOSED'"),
    )
    op.drop_index(
        "ix_account_plans_open_renewal",
        table_name="account_plans",
        postgresql_where=sa.text("status <> 'CLOSED'"),
    )
    op.drop_index(
        "ix_account_plans_active_period",
        table_name="account_plans",
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )
    op.drop_column("account_plans", "renewal_date")
    op.drop_column("account_plans", "next_review_at")
    op.drop_column("account_plans", "last_reviewed_at")
    op.drop_column("account_plans", "review_frequency_days")
    op.drop_column("account_plans", "satisfaction")
    op.drop_column("account_plans", "churn_rate")
    op.drop_column("account_plans", "price_change_pct")
    op.drop_column("account_plans", "planned_net_new")
    op.drop_column("account_plans", "growth_target_pct")
    op.drop_column("account_plans", "executive_sponsor_id")
    op.drop_index(op.f("ix_plan_white_space_plan_id"), table_name="plan_white_space")
    op.drop_table("plan_white_space")
    op.drop_index(op.f("ix_plan_goals_plan_id"), table_name="plan_goals")
    op.drop_table("plan_goals")
    op.drop_index(op.f("ix_plan_actions_plan_id"), table_name="plan_actions")
    op.drop_table("plan_actions")
