from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column


class ManagerType(StrEnum):
    SALES = "SALES"
    WHOLE_GOODS = "WHOLE_GOODS"
    PARTS = "PARTS"
    SERVICE = "SERVICE"
    MARKETING = "MARKETING"
    EXECUTIVE = "EXECUTIVE"


class Assignment(IdMixin, TimestampMixin, Base):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("account_id", "manager_type"),)

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    manager_type: Mapped[ManagerType] = mapped_column(enum_column(ManagerType, "manager_type"))
    contact_frequency_days: Mapped[int]
    started_at: Mapped[datetime]


class CadenceStatus(StrEnum):
    OVERDUE = "OVERDUE"
    DUE_SOON = "DUE_SOON"
    ON_TRACK = "ON_TRACK"
