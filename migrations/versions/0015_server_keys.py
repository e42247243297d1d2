"""server_keys: secrets shared by every server process, and the cursor key

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-09 10:00:00.000000
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_keys")),
    )
    # The key that seals cursors (app.kit.cursor): 64 random bytes, made here so that every
    # database copied from this one (a test template, a restored backup) keeps its cursors.
    op.execute(
        "INSERT INTO server_keys (name, secret)"
        f" VALUES ('cursor', decode('{os.urandom(64).hex()}', 'hex'))"
    )


def downgrade() -> None:
    op.drop_table("server_keys")
