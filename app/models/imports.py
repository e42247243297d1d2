from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
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


class ImportJob(IdMixin, TimestampMixin, Base):
    __tablename__ = "import_jobs"

    kind: Mapped[ImportKind] = mapped_column(enum_column(ImportKind, "import_kind"))
    mode: Mapped[ImportMode] = mapped_column(enum_column(ImportMode, "import_mode"))
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus, "import_status"),
        default=ImportStatus.QUEUED,
        server_default="QUEUED",
    )
    dry_run: Mapped[bool] = mapped_column(default=False, server_default="false")
    file_path: Mapped[str] = mapped_column(Text)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    total_rows: Mapped[int | None]
    processed_rows: Mapped[int] = mapped_column(default=0, server_default="0")
    created_count: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_count: Mapped[int] = mapped_column(default=0, server_default="0")
    rejected_count: Mapped[int] = mapped_column(default=0, server_default="0")
    failure: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


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
