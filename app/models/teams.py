"""Teams (a lead who is a MANAGER, members, a user in several), and the company's settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin


class RecordVisibility(StrEnum):
    """What a REP reads: every account, their teams' accounts, or only their own."""

    ALL = "ALL"
    TEAM = "TEAM"
    OWN = "OWN"


class Team(IdMixin, TimestampMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    lead_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.id"), primary_key=True, index=True
    )


class OrgSetting(Base):
    """One company-wide setting an ADMIN changes at run time (`record_visibility`)."""

    __tablename__ = "org_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
