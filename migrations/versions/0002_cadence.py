"""cadence: contact rules, the assignments' derived cadence columns and their trigger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 15:42:58.354598
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MANAGER_TYPES = ("SALES", "WHOLE_GOODS", "PARTS", "SERVICE", "MARKETING", "EXECUTIVE")
COUNTING_KINDS = (
    "CALL_INBOUND",
    "CALL_OUTBOUND",
    "EMAIL_SENT",
    "EMAIL_RECEIVED",
    "TEXT",
    "MEETING",
    "VISIT",
    "QUOTE",
    "INVOICE",
    "PARTS_PURCHASE",
    "SERVICE_ORDER",
    "TRADE_ASSESSMENT",
)

# Mirrors app.activities.cadence.contact_balance: the window is the last `window_days` UTC
# days up to today, clipped to the assignment's first day; actual = distinct contact days.
# `days` is sorted and distinct, so width_bucket (a binary search) counts the days up to a
# date. One expression without a sub-select, so the planner inlines it into queries.
BALANCE_FUNCTION = """
CREATE FUNCTION cadence_balance(
    days date[], started_at timestamptz, frequency integer, today date,
    window_days integer, surplus_at double precision, deficit_at double precision
) RETURNS varchar LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN today < (started_at AT TIME ZONE 'UTC')::date THEN 'BALANCED'
        WHEN (width_bucket(today, days)
              - width_bucket(greatest(today - window_days,
                                      (started_at AT TIME ZONE 'UTC')::date - 1), days))
             * frequency::float8
             / (today - greatest(today - window_days + 1,
                                 (started_at AT TIME ZONE 'UTC')::date) + 1)
             >= surplus_at THEN 'SURPLUS'
        WHEN (width_bucket(today, days)
              - width_bucket(greatest(today - window_days,
                                      (started_at AT TIME ZONE 'UTC')::date - 1), days))
             * frequency::float8
             / (today - greatest(today - window_days + 1,
                                 (started_at AT TIME ZONE 'UTC')::date) + 1)
             <= deficit_at THEN 'DEFICIT'
        ELSE 'BALANCED'
    END
$$
"""

# Every writer of assignments gets consistent derived columns, however it writes.
TRIGGER_FUNCTION = """
CREATE FUNCTION assignments_cadence() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    today date := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    NEW.next_contact_due := coalesce(NEW.last_contact_at, NEW.started_at)
        + make_interval(hours => 24 * NEW.contact_frequency_days);
    NEW.balance_status := cadence_balance(
        NEW.contact_days, NEW.started_at, NEW.contact_frequency_days, today, 365, 1.5, 0.5);
    NEW.balance_as_of := today;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    rules = op.create_table(
        "contact_rules",
        sa.Column(
            "manager_type",
            sa.Enum(
                *MANAGER_TYPES,
                name="manager_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("kinds", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("assignee_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("manager_type", name=op.f("pk_contact_rules")),
    )
    op.bulk_insert(
        rules, [{"manager_type": t, "kinds": list(COUNTING_KINDS)} for t in MANAGER_TYPES]
    )
    op.add_column(
        "assignments", sa.Column("last_contact_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "assignments", sa.Column("next_contact_due", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "assignments",
        sa.Column("contact_days", postgresql.ARRAY(sa.Date()), server_default="{}", nullable=False),
    )
    op.add_column("assignments", sa.Column("balance_status", sa.String(length=16), nullable=True))
    op.add_column("assignments", sa.Column("balance_as_of", sa.Date(), nullable=True))
    op.execute(BALANCE_FUNCTION)
    op.execute(TRIGGER_FUNCTION)
    op.execute(
        "CREATE TRIGGER assignments_cadence BEFORE INSERT OR UPDATE ON assignments "
        "FOR EACH ROW EXECUTE FUNCTION assignments_cadence()"
    )
    # Existing assignments get their derived columns; activities are folded in by the app.
    op.execute("UPDATE assignments SET contact_days = contact_days")
    op.alter_column("assignments", "next_contact_due", nullable=False)
    # Room on each page so that ingest updates which move no index key stay HOT.
    op.execute("ALTER TABLE assignments SET (fillfactor = 80)")
    # Covered by (user_id, next_contact_due, id); one index less to write on every ingest.
    op.drop_index(op.f("ix_assignments_user_id"), table_name="assignments")
    op.drop_constraint(
        op.f("uq_assignments_account_id_manager_type"), "assignments", type_="unique"
    )
    op.create_unique_constraint(
        op.f("uq_assignments_account_id_manager_type_user_id"),
        "assignments",
        ["account_id", "manager_type", "user_id"],
    )
    op.create_index(
        op.f("ix_assignments_balance_status_next_contact_due_id"),
        "assignments",
        ["balance_status", "next_contact_due", "id"],
    )
    op.create_index(
        op.f("ix_assignments_user_id_balance_status_next_contact_due_id"),
        "assignments",
        ["user_id", "balance_status", "next_contact_due", "id"],
    )
    op.create_index(op.f("ix_assignments_balance_as_of"), "assignments", ["balance_as_of"])
    op.create_index(
        op.f("ix_assignments_next_contact_due_id"), "assignments", ["next_contact_due", "id"]
    )
    op.create_index(
        op.f("ix_assignments_user_id_next_contact_due_id"),
        "assignments",
        ["user_id", "next_contact_due", "id"],
    )


def downgrade() -> None:
    op.create_index(op.f("ix_assignments_user_id"), "assignments", ["user_id"], unique=False)
    op.execute("ALTER TABLE assignments RESET (fillfactor)")
    op.drop_index(op.f("ix_assignments_user_id_next_contact_due_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_next_contact_due_id"), table_name="assignments")
    op.drop_index(op.f("ix_assignments_balance_as_of"), table_name="assignments")
    op.drop_index(
        op.f("ix_assignments_user_id_balance_status_next_contact_due_id"),
        table_name="assignments",
    )
    op.drop_index(
        op.f("ix_assignments_balance_status_next_contact_due_id"), table_name="assignments"
    )
    op.drop_constraint(
        op.f("uq_assignments_account_id_manager_type_user_id"), "assignments", type_="unique"
    )
    # Copies made by a bulk APPEND cannot survive the stricter key: keep the oldest one.
    op.execute(
        "DELETE FROM assignments a USING assignments b WHERE a.account_id = b.account_id "
        "AND a.manager_type = b.manager_type AND a.id > b.id"
    )
    op.create_unique_constraint(
        op.f("uq_assignments_account_id_manager_type"),
        "assignments",
        ["account_id", "manager_type"],
    )
    op.execute("DROP TRIGGER assignments_cadence ON assignments")
    op.execute("DROP FUNCTION assignments_cadence()")
    op.execute(
        "DROP FUNCTION cadence_balance(date[], timestamptz, integer, date, integer, float8, float8)"
    )
    op.drop_column("assignments", "balance_as_of")
    op.drop_column("assignments", "balance_status")
    op.drop_column("assignments", "contact_days")
    op.drop_column("assignments", "next_contact_due")
    op.drop_column("assignments", "last_contact_at")
    op.drop_table("contact_rules")
