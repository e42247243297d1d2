from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
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


class Account(IdMixin, TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        Index(None, "name", "id"),
        # totalCount of the default (unarchived) list from a small index alone: counting
        # 100,000 accounts reads the whole table otherwise.
        Index("ix_accounts_unarchived_id", "id", postgresql_where=text("archived_at IS NULL")),
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
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    parent_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    archived_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))


class Contact(IdMixin, TimestampMixin, Base):
    __tablename__ = "contacts"

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    buying_role: Mapped[BuyingRole | None] = mapped_column(enum_column(BuyingRole, "buying_role"))
