from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column
from app.models.assignments import ManagerType


class ActivityKind(StrEnum):
    CALL_INBOUND = "CALL_INBOUND"
    CALL_OUTBOUND = "CALL_OUTBOUND"
    EMAIL_SENT = "EMAIL_SENT"
    EMAIL_RECEIVED = "EMAIL_RECEIVED"
    TEXT = "TEXT"
    MEETING = "MEETING"
    VISIT = "VISIT"
    QUOTE = "QUOTE"
    INVOICE = "INVOICE"
    PARTS_PURCHASE = "PARTS_PURCHASE"
    SERVICE_ORDER = "SERVICE_ORDER"
    TRADE_ASSESSMENT = "TRADE_ASSESSMENT"
    NOTE = "NOTE"


class Activity(IdMixin, TimestampMixin, Base):
    __tablename__ = "activities"
    __table_args__ = (
        # The idempotency key is the caller's own (migration idempotency_by_caller).
        Index(
            "uq_activities_caller_key",
            "source",
            "external_id",
            "logged_by_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
            postgresql_nulls_not_distinct=True,
        ),
        Index(None, "account_id", "occurred_at", "id"),
        Index(None, "occurred_at", "id"),
        Index(
            "ix_activities_lead_id_occurred_at_id",
            "lead_id",
            "occurred_at",
            "id",
            postgresql_where=text("lead_id IS NOT NULL"),
        ),
        # On an account or a lead (migration 0024); money only on an account (revenue).
        CheckConstraint("account_id IS NOT NULL OR lead_id IS NOT NULL", name="account_or_lead"),
        CheckConstraint("account_id IS NOT NULL OR amount IS NULL", name="amount_needs_account"),
    )

    # None while the activity is on a lead that is not converted yet.
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    lead_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("leads.id"))
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind, "activity_kind"))
    occurred_at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    contact_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contacts.id"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    summary: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    # The caller who sent it (the token's user): a repeat of its key is shown to them.
    logged_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # A voided event stays visible but counts for nothing (cadence, revenue, gates, reports).
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class ContactRule(Base):
    """Which activity kinds count as a contact for one manager type (seeded with defaults)."""

    __tablename__ = "contact_rules"

    manager_type: Mapped[ManagerType] = mapped_column(
        enum_column(ManagerType, "manager_type"), primary_key=True
    )
    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    assignee_only: Mapped[bool] = mapped_column(default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Set by a change; cleared once app.activities.rebuild has recomputed the assignments.
    rebuild_pending: Mapped[bool] = mapped_column(default=False, server_default="false")
