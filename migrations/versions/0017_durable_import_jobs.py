"""durable import jobs (a lease, the upload in the database) and the daily upkeep's runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-09 10:00:00.000000

Jobs queued or running when this runs kept their upload in one server's data directory,
which the new workers do not read: they are marked FAILED (UploadNotKept).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CLAIMABLE = "status IN ('QUEUED', 'RUNNING')"


def upgrade() -> None:
    op.execute(
        "UPDATE import_jobs SET status = 'FAILED', failure = 'UploadNotKept', "
        f"finished_at = now() WHERE {_CLAIMABLE}"
    )
    op.drop_column("import_jobs", "file_path")
    op.add_column(
        "import_jobs", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "import_jobs", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("import_jobs", sa.Column("claimed_by", sa.String(length=200), nullable=True))
    op.add_column(
        "import_jobs",
        sa.Column("actor", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_index(
        op.f("ix_import_jobs_id_claimable"),
        "import_jobs",
        ["id"],
        unique=False,
        postgresql_where=sa.text(_CLAIMABLE),
    )
    op.create_table(
        "import_upload_chunks",
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["import_jobs.id"],
            name=op.f("fk_import_upload_chunks_job_id_import_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_import_upload_chunks")),
    )
    op.create_table(
        "upkeep_runs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column(
            "ran_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_upkeep_runs")),
    )


def downgrade() -> None:
    op.drop_table("upkeep_runs")
    op.drop_table("import_upload_chunks")
    op.drop_index(op.f("ix_import_jobs_id_claimable"), table_name="import_jobs")
    op.drop_column("import_jobs", "actor")
    op.drop_column("import_jobs", "claimed_by")
    op.drop_column("import_jobs", "claimed_until")
    op.drop_column("import_jobs", "attempts")
    op.execute(f"UPDATE import_jobs SET status = 'FAILED', finished_at = now() WHERE {_CLAIMABLE}")
    op.add_column(
        "import_jobs", sa.Column("file_path", sa.Text(), server_default="", nullable=False)
    )
    op.alter_column("import_jobs", "file_path", server_default=None)
