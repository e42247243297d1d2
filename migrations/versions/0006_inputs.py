"""inputs: who logged each activity; contact-rule rebuilds pending in the background

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "contact_rules",
        sa.Column("rebuild_pending", sa.Boolean(), server_default="false", nullable=False),
    )
    op.add_column("activities", sa.Column("logged_by_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_activities_logged_by_id_users"), "activities", "users", ["logged_by_id"], ["id"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("fk_activities_logged_by_id_users"), "activities", type_="foreignkey")
    op.drop_column("activities", "logged_by_id")
    op.drop_column("contact_rules", "rebuild_pending")
