"""accounts_by_external_ref: the account an externalRef names, following merges

A merged duplicate keeps its externalRef (so nobody else can take it) and points at its
survivor (merged_into_id); integrations that still send the duplicate's ref mean the
survivor. The function follows the chain (a survivor may itself be merged later) to the
account that was not merged, for a whole batch of refs at once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = """
CREATE FUNCTION accounts_by_external_ref(refs varchar[])
RETURNS TABLE (external_ref varchar, account_id bigint)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE hop (ref, id, merged_into_id) AS (
        SELECT a.external_ref, a.id, a.merged_into_id
        FROM accounts a
        WHERE a.external_ref = ANY (refs)
        UNION ALL
        SELECT hop.ref, a.id, a.merged_into_id
        FROM hop JOIN accounts a ON a.id = hop.merged_into_id
    )
    SELECT hop.ref, hop.id FROM hop WHERE hop.merged_into_id IS NULL
$$
"""


def upgrade() -> None:
    op.execute(FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION accounts_by_external_ref(varchar[])")
