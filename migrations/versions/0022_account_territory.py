"""the territory (assignment rule) that assigned an account, recorded on the account

- accounts.territory_id: set when an assignment rule first assigns the account; a rule
  removed later leaves the account without one (ON DELETE SET NULL).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 01:35:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("territory_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_accounts_territory_id_assignment_rules"),
        "accounts",
        "assignment_rules",
        ["territory_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_accounts_territory_id"), "accounts", ["territory_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_accounts_territory_id"), table_name="accounts")
    op.drop_constraint(
        op.f("fk_accounts_territory_id_assignment_rules"), "accounts", type_="foreignkey"
    )
    op.drop_column("accounts", "territory_id")
