"""Tasks: a call, meeting, e-mail or to-do with a due time and an optional reminder."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column


class TaskKind(StrEnum):
    CALL = "CALL"
    MEETING = "MEETING"
    EMAIL = "EMAIL"
    TODO = "TODO"


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class Task(IdMixin, TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index(None, "owner_id", "status", "due_at", "id"),
        Index(None, "account_id"),
        Index(None, "lead_id"),
        # The reminder loop's queue: open tasks not reminded yet, by when to remind.
        Index(
            "ix_tasks_remind_queue",
            func.coalesce(text("remind_at"), text("due_at")),
            postgresql_where=text("status = 'OPEN' AND reminded_at IS NULL"),
        ),
    )

    kind: Mapped[TaskKind] = mapped_column(enum_column(TaskKind, "task_kind"))
    title: Mapped[str] = mapped_column(String(200))
    due_at: Mapped[datetime]
    remind_at: Mapped[datetime | None]
    status: Mapped[TaskStatus] = mapped_column(
        enum_column(TaskStatus, "task_status"), default=TaskStatus.OPEN, server_default="OPEN"
    )
    completed_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contacts.id"))
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("leads.id"))
    activity_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("activities.id"))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
