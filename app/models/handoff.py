from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class Pipeline(IdMixin, TimestampMixin, Base):
    """A pipeline definition: `stages` and `transitions` are the declarative table."""

    __tablename__ = "pipelines"
    __table_args__ = (
        Index(
            "uq_pipelines_is_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(default=False, server_default="false")
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    transitions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # Bumped on every redefinition: the cached state machine is keyed by it.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PipelineEntry(IdMixin, TimestampMixin, Base):
    __tablename__ = "pipeline_entries"
    __table_args__ = (
        UniqueConstraint("account_id", "pipeline_id"),
        Index(None, "pipeline_id", "stage"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    pipeline_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipelines.id"))
    stage: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    entered_at: Mapped[datetime]


class StageEvent(IdMixin, Base):
    __tablename__ = "stage_events"
    __table_args__ = (
        Index(None, "account_id", "pipeline_id", "occurred_at", "id"),
        Index(
            None,
            "pipeline_id",
            "occurred_at",
            postgresql_include=[
                "from_stage",
                "to_stage",
                "seconds_in_previous_stage",
                "account_id",
            ],
        ),
        # Stays in seconds order per stage: percentiles read presorted input.
        Index(
            "ix_stage_events_stays",
            "pipeline_id",
            "from_stage",
            "seconds_in_previous_stage",
            postgresql_include=["occurred_at", "touches_in_previous_stage"],
        ),
        # Stays per owner in seconds order, and who received each entry: the per-owner
        # throughput report reads this index alone (migration 0011).
        Index(
            "ix_stage_events_owner_stays",
            "pipeline_id",
            "from_owner_id",
            "from_stage",
            "seconds_in_previous_stage",
            postgresql_include=["occurred_at", "to_stage", "to_owner_id"],
        ),
        Index(
            "ix_stage_events_handoffs",
            "pipeline_id",
            "occurred_at",
            postgresql_include=["accepted_at", "missing_recommended"],
            postgresql_where=text("is_handoff"),
        ),
        # Accepted handoffs in wait order, for the exact median wait (migration 0012).
        Index(
            "ix_stage_events_handoff_waits",
            "pipeline_id",
            text("(extract(epoch FROM accepted_at - occurred_at)::float8)"),
            postgresql_include=["occurred_at", "accepted_at"],
            postgresql_where=text("is_handoff AND accepted_at IS NOT NULL"),
        ),
        Index(
            "ix_stage_events_pending_handoffs",
            "pipeline_id",
            "occurred_at",
            "id",
            postgresql_where=text("is_handoff AND accepted_at IS NULL"),
        ),
        # Accepted handoffs by next step due: the overdue next steps list (migration 0026).
        Index(
            "ix_stage_events_next_steps",
            "next_step_due",
            "id",
            postgresql_where=text(
                "is_handoff AND accepted_at IS NOT NULL AND next_step_due IS NOT NULL"
            ),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    pipeline_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipelines.id"))
    from_stage: Mapped[str | None] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    from_owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    to_owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    is_handoff: Mapped[bool] = mapped_column(default=False, server_default="false")
    reason: Mapped[str | None] = mapped_column(Text)
    benefit: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    missing_recommended: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    seconds_in_previous_stage: Mapped[float | None]
    # Activities dated inside the stay this event ended, counted when it ended.
    touches_in_previous_stage: Mapped[int | None]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    next_step: Mapped[str | None] = mapped_column(Text)
    next_step_due: Mapped[datetime | None]


class BlockedAttempt(IdMixin, Base):
    """A move refused by a gate: kept, although nothing moved, so reports can count blockers."""

    __tablename__ = "blocked_attempts"
    __table_args__ = (Index(None, "pipeline_id", "occurred_at", postgresql_include=["missing"]),)

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    pipeline_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("pipelines.id"))
    from_stage: Mapped[str] = mapped_column(String(64))
    to_stage: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    is_handoff: Mapped[bool] = mapped_column(default=False, server_default="false")
    missing: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    actor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    occurred_at: Mapped[datetime]
