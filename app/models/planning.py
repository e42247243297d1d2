from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, IdMixin, TimestampMixin
from app.enums import enum_column
from app.models.activities import Activity, ActivityKind


class PlanStatus(StrEnum):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    CLOSED = "CLOSED"


class GoalStatus(StrEnum):
    OPEN = "OPEN"
    ACHIEVED = "ACHIEVED"
    MISSED = "MISSED"


class ActionStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class WhiteSpaceKind(StrEnum):
    DIVISION = "DIVISION"
    LOCATION = "LOCATION"
    DEPARTMENT = "DEPARTMENT"
    PRODUCT = "PRODUCT"
    COMPETITOR = "COMPETITOR"


class WhiteSpaceStatus(StrEnum):
    IDENTIFIED = "IDENTIFIED"
    PURSUING = "PURSUING"
    WON = "WON"
    LOST = "LOST"


class AccountPlan(IdMixin, TimestampMixin, Base):
    __tablename__ = "account_plans"
    __table_args__ = (
        Index(None, "account_id", "status"),
        # Forecasts select active plans by period; reviews and renewals page by date.
        Index(
            "ix_account_plans_active_period",
            "period_start",
            "period_end",
            postgresql_where=text("status = 'ACTIVE'"),
        ),
        Index(
            "ix_account_plans_open_review",
            "next_review_at",
            "id",
            postgresql_where=text("status <> 'CLOSED'"),
        ),
        Index(
            "ix_account_plans_open_renewal",
            "renewal_date",
            "id",
            postgresql_where=text("status <> 'CLOSED'"),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    status: Mapped[PlanStatus] = mapped_column(
        enum_column(PlanStatus, "plan_status"), default=PlanStatus.DRAFT
    )
    period_start: Mapped[date]
    period_end: Mapped[date]
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    executive_sponsor_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    growth_target_pct: Mapped[Decimal] = mapped_column(Numeric(7, 2), server_default="0")
    planned_net_new: Mapped[Decimal] = mapped_column(Numeric(14, 2), server_default="0")
    price_change_pct: Mapped[Decimal] = mapped_column(Numeric(7, 2), server_default="0")
    # NULL: use the estimate from history (churnEstimate.byRevenue).
    churn_rate: Mapped[Decimal | None] = mapped_column(Numeric(7, 6))
    satisfaction: Mapped[int | None]
    review_frequency_days: Mapped[int | None]
    last_reviewed_at: Mapped[datetime | None]
    next_review_at: Mapped[datetime | None]
    renewal_date: Mapped[date | None]
    challenges: Mapped[str | None] = mapped_column(Text)
    strategy: Mapped[str | None] = mapped_column(Text)


class PlanGoal(IdMixin, TimestampMixin, Base):
    __tablename__ = "plan_goals"

    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account_plans.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    title: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    due: Mapped[date | None]
    status: Mapped[GoalStatus] = mapped_column(
        enum_column(GoalStatus, "goal_status"), default=GoalStatus.OPEN
    )
    actual: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))


class PlanAction(IdMixin, TimestampMixin, Base):
    __tablename__ = "plan_actions"

    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account_plans.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    title: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id"))
    due: Mapped[date | None]
    status: Mapped[ActionStatus] = mapped_column(
        enum_column(ActionStatus, "action_status"), default=ActionStatus.OPEN
    )
    completed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class WhiteSpace(IdMixin, TimestampMixin, Base):
    __tablename__ = "plan_white_space"

    plan_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("account_plans.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("accounts.id"))
    kind: Mapped[WhiteSpaceKind] = mapped_column(enum_column(WhiteSpaceKind, "white_space_kind"))
    description: Mapped[str] = mapped_column(String(500))
    estimated_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    status: Mapped[WhiteSpaceStatus] = mapped_column(
        enum_column(WhiteSpaceStatus, "white_space_status"), default=WhiteSpaceStatus.IDENTIFIED
    )


class AccountRevenueYear(Base):
    """Revenue per account and UTC calendar year, kept by a trigger on activities.

    Churn compares whole years across every account; summing millions of activities per
    request is too slow, so the migration's statement-level triggers keep these sums.
    """

    __tablename__ = "account_revenue_years"
    # Churn reads customers (positive years) in key order from this index alone.
    __table_args__ = (
        Index(
            "ix_account_revenue_years_customers",
            "account_id",
            "year",
            postgresql_include=["revenue"],
            postgresql_where=text("revenue > 0"),
        ),
    )

    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    revenue: Mapped[Decimal] = mapped_column(Numeric(16, 2))


class ChurnYearSum(Base):
    """Churn year `year`: last year's customers and who of them bought nothing, per shard.

    Kept with account_revenue_years by the revenue trigger on activities (migration 0012,
    app/planning/revenue_sql.py); a shard is account_id % 16, so concurrent revenue writes
    rarely wait on one row.
    """

    __tablename__ = "churn_years"

    year: Mapped[int] = mapped_column(primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    customers: Mapped[int] = mapped_column(BigInteger)
    churned: Mapped[int] = mapped_column(BigInteger)
    revenue_at_start: Mapped[Decimal] = mapped_column(Numeric)
    revenue_lost: Mapped[Decimal] = mapped_column(Numeric)


REVENUE_KINDS = (ActivityKind.INVOICE, ActivityKind.PARTS_PURCHASE, ActivityKind.SERVICE_ORDER)
# Voided events are no revenue (see migration 0008).
REVENUE_PREDICATE = "kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND voided_at IS NULL"
_REVENUE_WHERE = text(REVENUE_PREDICATE)

# Revenue reads only three activity kinds; these partial, covering indexes (owned by
# planning, attached to the activities table) let them skip calls, emails and notes.
Index(
    "ix_activities_revenue_account",
    Activity.account_id,
    Activity.occurred_at,
    postgresql_include=["amount"],
    postgresql_where=_REVENUE_WHERE,
)
Index(
    "ix_activities_revenue_time",
    Activity.occurred_at,
    postgresql_include=["account_id", "amount"],
    postgresql_where=_REVENUE_WHERE,
)


class RevenueWindowAnchor(Base):
    __tablename__ = "revenue_window_anchor"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # always 1
    since: Mapped[datetime]


class AccountRevenueWindow(Base):
    __tablename__ = "account_revenue_window"

    account_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # In cents: ranking 100,000 accounts compares and adds integers, not numerics.
    cents: Mapped[int] = mapped_column(BigInteger)
