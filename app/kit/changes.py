"""The one way a writer records a change: its audit rows and its outbox events, together.

A writer names both in one call, so it cannot write the audit row and forget the event
(issue 17: rule-made assignments, voids, contact and lead changes once announced nothing).
`events=None` is the explicit "audited, not announced", and only the administration of the
service itself (UNANNOUNCED: users, API tokens, webhooks) may take it: record() refuses it
for any other entity. An integration reads no people (DESIGN: INTEGRATION), a token is a
credential, and a webhook is the push configuration, not data an integration keeps a copy
of. tests/kit/test_writers.py holds that list. A writer whose events are written by the
statement that stores its rows (logActivities' one statement) says so with IN_STATEMENT.

Nothing here commits: the edge (schema/unit_of_work.py) or the job's unit of work does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Final

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import Event, emit_events
from app.kit.actor import Actor
from app.models.audit import AuditEntry

# Audited, never announced: the service's own administration (see the docstring).
UNANNOUNCED = frozenset({"User", "ApiToken", "Webhook", "WebhookDelivery"})


class _InStatement:
    """The change's events were written by the statement that stored its rows."""


IN_STATEMENT: Final = _InStatement()


def plain(value: Any) -> Any:
    """A value as the audit log's JSON keeps it."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """{field: {"before": x, "after": y}} for the fields whose values differ."""
    return {
        key: {"before": plain(before.get(key)), "after": plain(after[key])}
        for key in after
        if before.get(key) != after[key]
    }


def created(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: {"before": None, "after": plain(v)} for key, v in values.items() if v is not None}


@dataclass(frozen=True, slots=True)
class Audit:
    """One audit row: what was done to which entity, and the changed values."""

    action: str
    entity_type: str
    entity_id: int | None
    changes: Mapping[str, Any] = field(default_factory=dict)

    def row(self, actor: Actor) -> dict[str, Any]:
        return {
            "actor_user_id": actor.user_id,
            "actor_token_id": actor.token_id,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "changes": dict(self.changes),
            "request_id": actor.request_id,
        }


def _many(items: Any) -> list[Any]:
    if items is None:
        return []
    return list(items) if isinstance(items, Sequence) else [items]


async def record(
    session: AsyncSession,
    *,
    actor: Actor,
    audit: Audit | Sequence[Audit],
    events: Event | Sequence[Event] | _InStatement | None,
) -> None:
    """Write the change's audit rows and its events (a statement each, bulk or single)."""
    audits = _many(audit)
    announced = [] if isinstance(events, _InStatement) else _many(events)
    if announced and not audits:
        raise ValueError("An announced change has its audit row.")
    if audits and events is not None and not announced and events is not IN_STATEMENT:
        raise ValueError("An audited change has its events (or events=None: unannounced).")
    if events is None and any(a.entity_type not in UNANNOUNCED for a in audits):
        raise ValueError("Only the service's administration is unannounced (UNANNOUNCED).")
    if audits:
        await session.execute(insert(AuditEntry), [a.row(actor) for a in audits])
    await emit_events(session, announced)
