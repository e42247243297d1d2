"""Contact rules: which activity kinds count as a contact, per manager type."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.errors import InvalidInputError
from app.kit.actor import Actor
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
    delta = audit.diff(before, after)
    if delta:
        rule.updated_at = func.now()
        rule.rebuild_pending = True
    await session.flush()
    if delta:
        await audit.record(
            session,
            actor=actor,
            action="contact_rule.set",
            entity_type="ContactRule",
            entity_id=None,
            changes={"managerType": manager_type.value, **delta},
        )
        await session.refresh(rule, ["updated_at"])
    return rule
