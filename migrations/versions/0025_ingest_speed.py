"""ingest speed: a touched assignment is written through five indexes, not seven, and the
cadence trigger runs only when it has something to change

Every activity that counts moves its assignments' last contact, so the update of each
touched assignment is not HOT and writes an entry into every index of the table. Two go:
- (user_id, next_contact_due, id): a user's rows are read through
  (user_id, balance_status, next_contact_due, id), a few thousand per user sorted in memory;
- (balance_status, next_contact_due, id) and (balance_as_of) become one index
  (balance_as_of, balance_status, next_contact_due, id): the balance filter asks for the
  stored status as of today (equality on both leading columns) or for rows not computed
  today (a range on the first), which a bitmap over this one index answers as it did over
  the two.
- assignments_cadence (migration 0002) gets a WHEN: it fires only when the row's derived
  columns differ from what it would set, so a writer that sets them itself (the ingest
  statements, set-based, one pass for the whole statement) spares a PL/pgSQL call per row,
  and every other writer gets the trigger as before. Skipping a trigger that would change
  nothing changes nothing.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 01:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BALANCE = ["balance_as_of", "balance_status", "next_contact_due", "id"]

TODAY = "(now() AT TIME ZONE 'UTC')::date"
CADENCE_TRIGGER = "CREATE TRIGGER assignments_cadence BEFORE INSERT OR UPDATE ON assignments "
CADENCE_CALL = "FOR EACH ROW {when}EXECUTE FUNCTION assignments_cadence()"
# True unless NEW already holds what assignments_cadence() would write into it.
STALE = f"""WHEN (
    NEW.next_contact_due IS DISTINCT FROM coalesce(NEW.last_contact_at, NEW.started_at)
        + make_interval(hours => 24 * NEW.contact_frequency_days)
    OR NEW.balance_as_of IS DISTINCT FROM {TODAY}
    OR NEW.balance_status IS DISTINCT FROM cadence_balance(
        NEW.contact_days, NEW.started_at, NEW.contact_frequency_days, {TODAY}, 365, 1.5, 0.5)
) """


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
    op.execute("DROP TRIGGER assignments_cadence ON assignments")
    op.execute(CADENCE_TRIGGER + CADENCE_CALL.format(when=STALE))


def downgrade() -> None:
    op.execute("DROP TRIGGER assignments_cadence ON assignments")
    op.execute(CADENCE_TRIGGER + CADENCE_CALL.format(when=""))
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
