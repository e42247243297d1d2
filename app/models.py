"""Every table, imported in one place so Alembic and tests see the whole metadata."""

from app.accounts.models import Account, Contact
from app.activities.models import Activity, ContactRule
from app.assignments.models import Assignment
from app.audit.models import AuditEntry
from app.auth.models import ApiToken, User
from app.db import Base
from app.handoff.models import BlockedAttempt, Pipeline, PipelineEntry, StageEvent
from app.handoff.summaries import (
    BlockedDayMissing,
    HandoffDay,
    HandoffDayMissing,
    HandoffDayWait,
    StageDayPair,
    StageDayStay,
)
from app.imports.models import ImportJob, ImportRowError
from app.leads.models import AssignmentRule, AssignmentRuleMember, Lead
from app.planning.models import (
    AccountPlan,
    AccountRevenueYear,
    ChurnYearSum,
    PlanAction,
    PlanGoal,
    WhiteSpace,
)
from app.planning.window import AccountRevenueWindow, RevenueWindowAnchor
from app.webhooks.models import OutboxEvent, Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "Account",
    "AccountPlan",
    "AccountRevenueWindow",
    "AccountRevenueYear",
    "Activity",
    "ApiToken",
    "Assignment",
    "AssignmentRule",
    "AssignmentRuleMember",
    "AuditEntry",
    "Base",
    "BlockedAttempt",
    "BlockedDayMissing",
    "ChurnYearSum",
    "Contact",
    "ContactRule",
    "HandoffDay",
    "HandoffDayMissing",
    "HandoffDayWait",
    "ImportJob",
    "ImportRowError",
    "Lead",
    "OutboxEvent",
    "Pipeline",
    "PipelineEntry",
    "PlanAction",
    "PlanGoal",
    "RevenueWindowAnchor",
    "StageDayPair",
    "StageDayStay",
    "StageEvent",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WhiteSpace",
]
