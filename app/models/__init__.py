"""Every table, imported in one place so Alembic and tests see the whole metadata."""

from app.db import Base
from app.models.accounts import Account, Contact
from app.models.activities import Activity, ContactRule
from app.models.assignments import Assignment
from app.models.audit import AuditEntry
from app.models.auth import ApiToken, User
from app.models.handoff import BlockedAttempt, Pipeline, PipelineEntry, StageEvent
from app.models.imports import ImportJob, ImportRowError, ImportUploadChunk
from app.models.keys import ServerKey
from app.models.leads import AssignmentRule, AssignmentRuleMember, Lead
from app.models.planning import (
    AccountPlan,
    AccountRevenueWindow,
    AccountRevenueYear,
    ChurnYearSum,
    PlanAction,
    PlanGoal,
    RevenueWindowAnchor,
    WhiteSpace,
)
from app.models.summaries import (
    BlockedDayMissing,
    HandoffDay,
    HandoffDayMissing,
    HandoffDayWait,
    StageDayPair,
    StageDayStay,
)
from app.models.tasks import Task
from app.models.teams import OrgSetting, Team, TeamMember
from app.models.upkeep import UpkeepRun
from app.models.webhooks import OutboxEvent, Webhook, WebhookAttempt, WebhookDelivery

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
    "ImportUploadChunk",
    "Lead",
    "OrgSetting",
    "OutboxEvent",
    "Pipeline",
    "PipelineEntry",
    "PlanAction",
    "PlanGoal",
    "RevenueWindowAnchor",
    "ServerKey",
    "StageDayPair",
    "StageDayStay",
    "StageEvent",
    "Task",
    "Team",
    "TeamMember",
    "UpkeepRun",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
    "WhiteSpace",
]
