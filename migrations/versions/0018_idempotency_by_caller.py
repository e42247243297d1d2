"""activities: an idempotency key (source, externalId) belongs to the caller that sent it

One caller's key no longer collides with another's: a REP logging `erp`/`INV-42` leaves the
ERP integration's own `INV-42` free. The key is unique per recording user (logged_by_id),
the keyless calls of the system (NULL) sharing one scope; rows without a key are not
indexed. Downgrading fails while two callers hold the same key.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_activities_caller_key",
        "activities",
        ["source", "external_id", "logged_by_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
        postgresql_nulls_not_distinct=True,
    )
    op.drop_constraint("uq_activities_source_external_id", "activities", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint(
        "uq_activities_source_external_id", "activities", ["source", "external_id"]
    )
    op.drop_index("uq_activities_caller_key", table_name="activities")
