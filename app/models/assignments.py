from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    FetchedValue,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column
from app.models.accounts import Classification


class ManagerType(StrEnum):
    SALES = "SALES"
    WHOLE_GOODS = "WHOLE_GOODS"
    PARTS = "PARTS"
    SERVICE = "SERVICE"
    MARKETING = "MARKETING"
    EXECUTIVE = "EXECUTIVE"


class Assignment(IdMixin, TimestampMixin, Base):
    """A user covering an account for one manager type, with its cadence kept up to date.

    assignAccount allows one user per account and manager type; a bulk APPEND may add a
    second user (a copy), so the key is (account, manager type, user).
    The cadence columns are derived from the activities by app.activities.cadence, in the
    transaction that logs them, so overdue and balance lists read an index.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("account_id", "manager_type", "user_id"),
        # Few indexes: an ingest that moves an assignment's last contact writes into each.
        Index(None, "next_contact_due", "id"),
        Index(None, "user_id", "balance_status", "next_contact_due", "id"),
        Index(None, "balance_as_of", "balance_status", "next_contact_due", "id"),
    )
    # The trigger writes the derived columns; RETURNING brings them back on every flush.
    __mapper_args__ = {"eager_defaults": True}

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    manager_type: Mapped[ManagerType] = mapped_column(enum_column(ManagerType, "manager_type"))
    contact_frequency_days: Mapped[int]
    started_at: Mapped[datetime]
    last_contact_at: Mapped[datetime | None]
    next_contact_due: Mapped[datetime] = mapped_column(
        server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    # Distinct UTC days with a counting contact, ascending.
    contact_days: Mapped[list[date]] = mapped_column(ARRAY(Date), default=list, server_default="{}")
    # The balance under the default window and thresholds, as of balance_as_of (a UTC day).
    balance_status: Mapped[str | None] = mapped_column(
        String(16), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    balance_as_of: Mapped[date | None] = mapped_column(
        server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    # The due time a CADENCE_OVERDUE event was emitted for (once per time it goes overdue).
    overdue_notified_due: Mapped[datetime | None]


class ContactFrequencyDefault(Base):
    """The contact frequency assignAccount uses when none is given."""

    __tablename__ = "contact_frequency_defaults"

    manager_type: Mapped[ManagerType] = mapped_column(
        enum_column(ManagerType, "manager_type"), primary_key=True
    )
    classification: Mapped[Classification] = mapped_column(
        enum_column(Classification, "classification"), primary_key=True
    )
    contact_frequency_days: Mapped[int]


class CadenceStatus(StrEnum):
    OVERDUE = "OVERDUE"
    DUE_SOON = "DUE_SOON"
    ON_TRACK = "ON_TRACK"


class BalanceStatus(StrEnum):
    SURPLUS = "SURPLUS"
    BALANCED = "BALANCED"
    DEFICIT = "DEFICIT"


class BulkMode(StrEnum):
    APPEND = "APPEND"
    REMOVE = "REMOVE"
    REPLACE = "REPLACE"
