from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column


class Role(StrEnum):
    ADMIN = "ADMIN"
    MANAGER = "MANAGER"
    REP = "REP"
    INTEGRATION = "INTEGRATION"


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    max_accounts: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")


class ApiToken(IdMixin, TimestampMixin, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    # Stamped at most once a minute per token (see tokens.record_use), not on every request.
    last_used_at: Mapped[datetime | None]
