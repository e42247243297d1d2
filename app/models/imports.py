from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column


class ImportKind(StrEnum):
    ACCOUNTS = "ACCOUNTS"
    CONTACTS = "CONTACTS"
    LEADS = "LEADS"
    ACTIVITIES = "ACTIVITIES"
    ASSIGNMENTS = "ASSIGNMENTS"


class ImportMode(StrEnum):
    ALL_OR_NOTHING = "ALL_OR_NOTHING"
    SKIP_INVALID = "SKIP_INVALID"


class ImportStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


CLAIMABLE = "status IN ('QUEUED', 'RUNNING')"


class ImportJob(IdMixin, TimestampMixin, Base):
    """A CSV import, claimed by one server process at a time for `claimed_until` (a lease
    its runner renews); `attempts` counts the claims and fences out a runner that lost it."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_id_claimable", "id", postgresql_where=text(CLAIMABLE)),)

    kind: Mapped[ImportKind] = mapped_column(enum_column(ImportKind, "import_kind"))
    mode: Mapped[ImportMode] = mapped_column(enum_column(ImportMode, "import_mode"))
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus, "import_status"),
        default=ImportStatus.QUEUED,
        server_default="QUEUED",
    )
    dry_run: Mapped[bool] = mapped_column(default=False, server_default="false")
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    ignore_unknown_columns: Mapped[bool] = mapped_column(default=False, server_default="false")
    total_rows: Mapped[int | None]
    processed_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    created_count: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rejected_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failure: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    claimed_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    # Who started it (app.kit.actor.Actor's fields): the runner acts as them on any server.
    actor: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ImportUploadChunk(Base):
    """The uploaded file, in pieces of up to a MiB, readable by every server process."""

    __tablename__ = "import_upload_chunks"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ImportRowError(IdMixin, Base):
    __tablename__ = "import_row_errors"
    __table_args__ = (Index(None, "job_id", "id"),)

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("import_jobs.id", ondelete="CASCADE")
    )
    row: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
