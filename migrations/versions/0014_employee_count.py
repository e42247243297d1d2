"""accounts.employee_count: how many people the account employs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 21:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("employee_count", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("accounts", "employee_count")
