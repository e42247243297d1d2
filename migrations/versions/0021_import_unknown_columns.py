"""import jobs may skip unknown columns

- import_jobs.ignore_unknown_columns: startImport's `ignoreUnknownColumns` (the CLI's
  --ignore-unknown-columns), kept with the job so the server process that runs it skips
  the columns no field matches instead of refusing the file.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "import_jobs",
        sa.Column("ignore_unknown_columns", sa.Boolean(), server_default="false", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("import_jobs", "ignore_unknown_columns")
