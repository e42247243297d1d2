from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Computed, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column


class Classification(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"


class AccountSource(StrEnum):
    WEBSITE = "WEBSITE"
    REFERRAL = "REFERRAL"
    EMAIL_CAMPAIGN = "EMAIL_CAMPAIGN"
    SOCIAL_ADS = "SOCIAL_ADS"
    MEDIA = "MEDIA"
    EVENT = "EVENT"
    IMPORT = "IMPORT"
    LEAD = "LEAD"
    OTHER = "OTHER"


class BuyingRole(StrEnum):
    DECISION_MAKER = "DECISION_MAKER"
    INFLUENCER = "INFLUENCER"
    COACH = "COACH"
    CHAMPION = "CHAMPION"
    USER = "USER"
    BLOCKER = "BLOCKER"


def _words(column: str) -> str:
    """A column's words for the `simple` search configuration (urls and emails split up)."""
    spaced = f"regexp_replace(coalesce({column}, ''), '[^[:alnum:]]+', ' ', 'g')"
    return f"to_tsvector('simple', {spaced})"


ACCOUNT_SEARCH = (
    f"setweight({_words('name')}, 'A') || setweight({_words('external_ref')}, 'A')"
    f" || setweight({_words('website')}, 'B')"
)
CONTACT_SEARCH = f"{_words('name')} || {_words('email')}"


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index(None, "name", "id"),
        # totalCount of the default (unarchived) list from a small index alone: counting
        # 100,000 accounts reads the whole table otherwise.
        Index("ix_accounts_unarchived_id", "id", postgresql_where=text("archived_at IS NULL")),
        # records: search, tag filters and the sortable lists.
        Index("ix_accounts_search", "search_vector", postgresql_using="gin"),
        Index("ix_accounts_tags", "tags", postgresql_using="gin"),
        Index(None, "created_at", "id"),
        Index(None, "updated_at", "id"),
        Index(None, "source"),
    )

    name: Mapped[str] = mapped_column(String(200))
    classification: Mapped[Classification | None] = mapped_column(
        enum_column(Classification, "classification")
    )
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    source: Mapped[AccountSource | None] = mapped_column(enum_column(AccountSource, "source"))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country_code: Mapped[str | None] = mapped_column(String(2), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    employee_count: Mapped[int | None]
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    archived_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    # Trimmed, lower case, distinct (see app.accounts.tags).
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    # Set when the account was merged into another one (and archived).
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    # The territory (assignment rule) that first assigned the account (app.territories).
    territory_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("assignment_rules.id", ondelete="SET NULL"), index=True
    )
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(ACCOUNT_SEARCH, persisted=True), deferred=True
    )


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index("ix_contacts_search", "search_vector", postgresql_using="gin"),
        Index(None, "name", "id"),
        UniqueConstraint("account_id", "external_ref"),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    buying_role: Mapped[BuyingRole | None] = mapped_column(enum_column(BuyingRole, "buying_role"))
    # The other system's key (upsertContacts), unique per account; freed when removed.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    # A removed contact is kept for history (activities name it) but leaves every list.
    removed_at: Mapped[datetime | None]
    search_vector: Mapped[str | None] = mapped_column(
        TSVECTOR, Computed(CONTACT_SEARCH, persisted=True), deferred=True
    )
