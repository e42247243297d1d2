"""outbox without NOTIFY: writers no longer wake listeners at commit

PostgreSQL serialises the commits of every transaction that NOTIFYs (a cluster-wide lock
held through the commit's WAL flush), so with 32 concurrent writers the outbox trigger's
NOTIFY cost a share of the commits per second (bench/README.md, "NOTIFY at scale").
The trigger now only queues the deliveries; app.fanout polls the outbox instead.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 01:20:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUE = """
    INSERT INTO webhook_deliveries (webhook_id, event_id, event, object_key, next_attempt_at)
    SELECT w.id, e.id, e.type, e.object_key, e.created_at
    FROM new_events e JOIN webhooks w ON w.is_active AND e.type = ANY(w.events)
    ORDER BY e.id, w.id;
"""

QUIET = f"""
CREATE OR REPLACE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{_QUEUE}
    RETURN NULL;
END
$$
"""

# Migration 0010's function, as it was.
NOTIFYING = f"""
CREATE OR REPLACE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
BEGIN
{_QUEUE}
    FOR ids IN
        SELECT string_agg(id::text, ',' ORDER BY id)
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS chunk FROM new_events) s
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('accountflow_events', ids);
    END LOOP;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(QUIET)


def downgrade() -> None:
    op.execute(NOTIFYING)
