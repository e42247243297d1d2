"""Contact rules: which activity kinds count as a contact, per manager type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.models.activities import ActivityKind, ContactRule
from app.models.assignments import ManagerType

DEFAULT_KINDS = tuple(k.value for k in ActivityKind if k is not ActivityKind.NOTE)


async def contact_rules(session: AsyncSession) -> list[ContactRule]:
    """One rule per manager type, in the enum's order (missing rows read as the default)."""
    found = {r.manager_type: r for r in await session.scalars(select(ContactRule))}
    return [
        found.get(t)
        or ContactRule(
            manager_type=t, kinds=list(DEFAULT_KINDS), assignee_only=False, rebuild_pending=False
        )
        for t in ManagerType
    ]


async def set_contact_rule(
    session: AsyncSession,
    *,
    actor: Actor,
    manager_type: ManagerType,
    kinds: Sequence[ActivityKind],
    assignee_only: bool,
) -> ContactRule:
    """Change a rule; app.activities.rebuild then recomputes its assignments in batches."""
    if not kinds:
        raise InvalidInputError("Name at least one activity kind.", field="kinds")
    clean = [k.value for k in ActivityKind if k in set(kinds)]
    query = select(ContactRule).where(ContactRule.manager_type == manager_type)
    rule = (
        await session.scalars(query.with_for_update().execution_options(populate_existing=True))
    ).one_or_none()
    if rule is None:
        rule = ContactRule(manager_type=manager_type, kinds=list(DEFAULT_KINDS))
        session.add(rule)
        before = {"kinds": list(DEFAULT_KINDS), "assigneeOnly": False}
    else:
        before = {"kinds": list(rule.kinds), "assigneeOnly": rule.assignee_only}
    after = {"kinds": clean, "assigneeOnly": assignee_only}
    rule.kinds = clean
    rule.assignee_only = assignee_only
    delta = changes.diff(before, after)
    if delta:
        rule.updated_at = func.now()
        rule.rebuild_pending = True
    await session.flush()
    if delta:
        await session.refresh(rule, ["updated_at"])
        audit = Audit(
            "contact_rule.set", "ContactRule", None, {"managerType": manager_type.value, **delta}
        )
        await changes.record(session, actor=actor, audit=audit, events=rule_event(rule))
    return rule


def rule_event(rule: ContactRule, **extra: Any) -> Event:
    """contact_rule.changed, or .rebuilt once its assignments were recomputed."""
    data = {
        "managerType": rule.manager_type.value,
        "kinds": list(rule.kinds),
        "assigneeOnly": rule.assignee_only,
        **extra,
    }
    kind = EventType.CONTACT_RULE_REBUILT if extra else EventType.CONTACT_RULE_CHANGED
    return Event(kind, data, object_key=f"ContactRule:{rule.manager_type.value}")
