"""accounts_unarchived_index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:04:27.844350
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_accounts_unarchived_id",
        "accounts",
        ["id"],
        unique=False,
        postgresql_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_accounts_unarchived_id", table_name="accounts")
