"""ingest speed: a touched assignment is written through five indexes, not seven

Every activity that counts moves its assignments' last contact, so the update of each
touched assignment is not HOT and writes an entry into every index of the table. Two go:
- (user_id, next_contact_due, id): a user's rows are read through
  (user_id, balance_status, next_contact_due, id), a few thousand per user sorted in memory;
- (balance_status, next_contact_due, id) and (balance_as_of) become one index
  (balance_as_of, balance_status, next_contact_due, id): the balance filter asks for the
  stored status as of today (equality on both leading columns) or for rows not computed
  today (a range on the first), which a bitmap over this one index answers as it did over
  the two.

Revision ID: 0027
Revises: 0020
Create Date: 2026-12-08 01:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BALANCE = ["balance_as_of", "balance_status", "next_contact_due", "id"]


def upgrade() -> None:
    op.drop_index(op.f("ix_assignments_user_id_next_contact_due_id"), table_name="assignments")
    op.drop_index(
        op.f("ix_assignments_balance_status_next_contact_due_id"), table_name="assignments"
    )
    op.drop_index(op.f("ix_assignments_balance_as_of"), table_name="assignments")
    op.create_index(
        op.f("ix_assignments_balance_as_of_balance_status_next_contact_due_id"),
        "assignments",
        BALANCE,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_assignments_balance_as_of_balance_status_next_contact_due_id"),
        table_name="assignments",
    )
    op.create_index(op.f("ix_assignments_balance_as_of"), "assignments", ["balance_as_of"])
    op.create_index(
        op.f("ix_assignments_balance_status_next_contact_due_id"),
        "assignments",
        ["balance_status", "next_contact_due", "id"],
    )
    op.create_index(
        op.f("ix_assignments_user_id_next_contact_due_id"),
        "assignments",
        ["user_id", "next_contact_due", "id"],
    )
