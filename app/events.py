"""The change events: written to the outbox in the transaction of the change.

The outbox's insert trigger (migrations 0010, 0023) queues a delivery per subscribed webhook;
app.fanout polls the outbox for subscriptions. Both see a row only once its transaction
commits: a change that rolls back is neither delivered nor heard by a subscription.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.webhooks import OutboxEvent

if TYPE_CHECKING:
    from app.models.accounts import Account
    from app.models.assignments import Assignment
    from app.models.handoff import StageEvent

CHANNEL = "accountflow_events"


class EventType(StrEnum):
    """Dotted lower-case names (the webhook body's `type`); GraphQL uses the member names."""

    ACCOUNT_CREATED = "account.created"
    ACCOUNT_UPDATED = "account.updated"
    ACCOUNT_ARCHIVED = "account.archived"
    ACCOUNT_MERGED = "account.merged"
    ACTIVITY_LOGGED = "activity.logged"
    ASSIGNMENT_CHANGED = "assignment.changed"
    CADENCE_OVERDUE = "cadence.overdue"
    STAGE_CHANGED = "stage.changed"
    HANDOFF_REQUESTED = "handoff.requested"
    HANDOFF_ACCEPTED = "handoff.accepted"
    PLAN_STATUS_CHANGED = "plan.status_changed"
    LEAD_CREATED = "lead.created"
    LEAD_CONVERTED = "lead.converted"
    IMPORT_FINISHED = "import.finished"
    # Announced since the one write path (issue 17): every change an integration would keep
    # a copy of. Users, tokens and webhooks are audited only (app/kit/changes.py says why).
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_REMOVED = "contact.removed"
    LEAD_UPDATED = "lead.updated"
    LEAD_STATUS_CHANGED = "lead.status_changed"
    ACTIVITY_VOIDED = "activity.voided"
    CONTACT_RULE_CHANGED = "contact_rule.changed"
    CONTACT_RULE_REBUILT = "contact_rule.rebuilt"
    CONTACT_FREQUENCY_DEFAULT_CHANGED = "contact_frequency_default.changed"
    BALANCES_REFRESHED = "balances.refreshed"
    ASSIGNMENT_RULE_DEFINED = "assignment_rule.defined"
    PIPELINE_DEFINED = "pipeline.defined"
    PLAN_CREATED = "plan.created"
    PLAN_UPDATED = "plan.updated"
    GOAL_CHANGED = "goal.changed"
    ACTION_ITEM_CHANGED = "action_item.changed"
    WHITE_SPACE_CHANGED = "white_space.changed"
    IMPORT_STARTED = "import.started"
    # Reminders of the tasks feature (the tasks issue) as they fall due.
    TASK_DUE = "task.due"
    TASK_CREATED = "task.created"
    TASK_COMPLETED = "task.completed"
    TASK_CANCELLED = "task.cancelled"
    # Teams and the record visibility (issue 21, part V).
    TEAM_DEFINED = "team.defined"
    RECORD_VISIBILITY_CHANGED = "record_visibility.changed"


def global_id(type_name: str, pk: int | None) -> str | None:
    """The GraphQL global id (schema.relay.to_global_id) of a row, for event data."""
    if pk is None:
        return None
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(gid: str) -> int:
    return int(base64.b64decode(gid).decode().partition(":")[2])


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class Event:
    """One outbox event; deliveries of one `object_key` (default: the account) keep order."""

    type: EventType
    data: Mapping[str, Any]
    account_id: int | None = None
    object_key: str | None = None

    def row(self) -> dict[str, Any]:
        key = self.object_key or f"Account:{self.account_id}"
        return {
            "type": self.type.value,
            "account_id": self.account_id,
            "object_key": key,
            "data": dict(self.data),
        }


async def emit_events(session: AsyncSession, items: Sequence[Event]) -> None:
    """Many events, of any types, in one statement."""
    if items:
        await session.execute(insert(OutboxEvent), [item.row() for item in items])


def account_data(account: Account | Row[Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": global_id("Account", account.id),
        "name": account.name,
        "externalRef": account.external_ref,
        "classification": account.classification,
        "version": account.version,
        **extra,
    }


def assignment_data(row: Assignment, change: str) -> dict[str, Any]:
    return {
        "id": global_id("Assignment", row.id),
        "change": change,
        "accountId": global_id("Account", row.account_id),
        "userId": global_id("User", row.user_id),
        "managerType": row.manager_type.value,
        "contactFrequencyDays": row.contact_frequency_days,
        "lastContactAt": iso(row.last_contact_at),
        "nextContactDue": iso(row.next_contact_due) if change != "removed" else None,
    }


def stage_event_data(event: StageEvent, pipeline: str) -> dict[str, Any]:
    return {
        "id": global_id("StageEvent", event.id),
        "accountId": global_id("Account", event.account_id),
        "pipeline": pipeline,
        "fromStage": event.from_stage,
        "toStage": event.to_stage,
        "trigger": event.trigger,
        "occurredAt": iso(event.occurred_at),
        "handoff": event.is_handoff,
        "fromOwnerId": global_id("User", event.from_owner_id),
        "toOwnerId": global_id("User", event.to_owner_id),
        "reason": event.reason,
        "benefit": event.benefit,
        "missingRecommended": list(event.missing_recommended or []),
    }
