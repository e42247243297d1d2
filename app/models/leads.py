from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column
from app.models.accounts import Account, AccountSource, Classification
from app.models.assignments import ManagerType


class LeadStatus(StrEnum):
    NEW = "NEW"
    WORKING = "WORKING"
    QUALIFIED = "QUALIFIED"
    UNQUALIFIED = "UNQUALIFIED"
    CONVERTED = "CONVERTED"


class Lead(IdMixin, TimestampMixin, Base):
    __tablename__ = "leads"
    __table_args__ = (
        Index(None, "status", "id"),
        Index(None, "owner_id", "id"),
        Index(None, "created_at"),
    )

    company: Mapped[str] = mapped_column(String(200))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    industry: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country_code: Mapped[str | None] = mapped_column(String(2))
    source: Mapped[AccountSource | None] = mapped_column(enum_column(AccountSource, "source"))
    status: Mapped[LeadStatus] = mapped_column(
        enum_column(LeadStatus, "lead_status"), default=LeadStatus.NEW, server_default="NEW"
    )
    status_reason: Mapped[str | None] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    converted_at: Mapped[datetime | None]
    account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("accounts.id"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("contacts.id"))


class AssignmentRule(IdMixin, TimestampMixin, Base):
    """A territory: which accounts (criteria; empty means any) go to which pool of users."""

    __tablename__ = "assignment_rules"
    __table_args__ = (Index(None, "manager_type", "position", "id"),)

    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int]
    manager_type: Mapped[ManagerType] = mapped_column(enum_column(ManagerType, "manager_type"))
    contact_frequency_days: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    country_codes: Mapped[list[str]] = mapped_column(
        ARRAY(String(2)), default=list, server_default="{}"
    )
    regions: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    postal_code_prefixes: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default="{}"
    )
    industries: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    classifications: Mapped[list[Classification]] = mapped_column(
        ARRAY(String(1)), default=list, server_default="{}"
    )
    sources: Mapped[list[AccountSource]] = mapped_column(
        ARRAY(String(32)), default=list, server_default="{}"
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AssignmentRuleMember(Base):
    """A pool member with its smooth weighted round-robin state (current_weight)."""

    __tablename__ = "assignment_rule_members"

    rule_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("assignment_rules.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    weight: Mapped[int]
    current_weight: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    assigned_count: Mapped[int] = mapped_column(default=0, server_default="0")


# Possible duplicates of a lead are looked up by these keys of an account (migration 0009).
Index("ix_accounts_company_key", func.leads_company_key(Account.name))
Index("ix_accounts_website_host", func.leads_web_host(Account.website))
Index("ix_accounts_email_domain", func.leads_email_domain(Account.email))
