"""sync: the event feed's position, contacts by external key, cadence changes announced

- outbox.feed_position: where an event sits in the feed (`events`). It is the writer's
  transaction id + 1, or the first id its statement could not see as finished if that is
  higher. Every event that is not visible yet (its transaction is still running, or has
  not started) gets a position above the oldest running transaction id (pg_snapshot_xmin:
  the writer's id is at least that), so a reader that lists only positions up to that id,
  in (position, id) order, never pages past an event that commits later. Sequence ids alone commit out
  of order. Two writers of one object (serialised by its row lock) get positions in the
  order they wrote it.
- contacts.external_ref: the other system's key of a contact, unique per account.
- assignments_cadence_announced: an assignment whose next contact due moves because its
  contacts changed (an activity logged, voided or merged, a contact rule rebuilt) is
  announced as assignment.changed ("change": "cadence"), in the statement that changed
  it, as app.events.assignment_data writes it (times as af_json_time, migration 0013). Assignments created in the same
  transaction are left out: their writer announces them as created.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

POSITION = (
    "greatest(pg_current_xact_id()::text::bigint + 1, "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint)"
)

CADENCE_ANNOUNCED = """
CREATE FUNCTION assignments_cadence_announced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO outbox (type, object_key, account_id, data)
    SELECT 'assignment.changed', 'Account:' || n.account_id, n.account_id, jsonb_build_object(
        'id', encode(convert_to('Assignment:' || n.id, 'UTF8'), 'base64'),
        'change', 'cadence',
        'accountId', encode(convert_to('Account:' || n.account_id, 'UTF8'), 'base64'),
        'userId', encode(convert_to('User:' || n.user_id, 'UTF8'), 'base64'),
        'managerType', n.manager_type,
        'contactFrequencyDays', n.contact_frequency_days,
        'lastContactAt', af_json_time(n.last_contact_at)::jsonb,
        'nextContactDue', af_json_time(n.next_contact_due)::jsonb)
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.next_contact_due IS DISTINCT FROM o.next_contact_due
      AND n.last_contact_at IS DISTINCT FROM o.last_contact_at
      AND n.created_at <> transaction_timestamp()
    ORDER BY n.id;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("feed_position", sa.BigInteger(), server_default=sa.text(POSITION)),
    )
    op.alter_column("outbox", "feed_position", nullable=False)
    op.create_index(op.f("ix_outbox_feed_position_id"), "outbox", ["feed_position", "id"])
    op.add_column("contacts", sa.Column("external_ref", sa.String(length=100), nullable=True))
    op.create_unique_constraint(
        op.f("uq_contacts_account_id_external_ref"), "contacts", ["account_id", "external_ref"]
    )
    op.execute(CADENCE_ANNOUNCED)
    op.execute(
        "CREATE TRIGGER assignments_cadence_announced AFTER UPDATE ON assignments "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION assignments_cadence_announced()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER assignments_cadence_announced ON assignments")
    op.execute("DROP FUNCTION assignments_cadence_announced()")
    op.drop_constraint(op.f("uq_contacts_account_id_external_ref"), "contacts", type_="unique")
    op.drop_column("contacts", "external_ref")
    op.drop_index(op.f("ix_outbox_feed_position_id"), table_name="outbox")
    op.drop_column("outbox", "feed_position")
