from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class UpkeepRun(Base):
    """The last UTC day a once-a-day job ran, whichever process (or cron) ran it."""

    __tablename__ = "upkeep_runs"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    ran_at: Mapped[datetime] = mapped_column(server_default=func.now())
