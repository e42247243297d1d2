"""Territories: ordered assignment rules with a pool of users each (defining and reading)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.read import AccountFilter, accounts_query
from app.assignments.service import MAX_FREQUENCY_DAYS
from app.db import rows_by_id
from app.errors import NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.validation import Checks
from app.models.accounts import Account, AccountSource, Classification
from app.models.assignments import ManagerType
from app.models.auth import Role, User
from app.models.leads import AssignmentRule, AssignmentRuleMember
from app.territories.roundrobin import ApplyResult, apply_rules


@dataclass(frozen=True, slots=True)
class Criteria:
    country_codes: Sequence[str] = ()
    regions: Sequence[str] = ()
    postal_code_prefixes: Sequence[str] = ()
    industries: Sequence[str] = ()
    classifications: Sequence[Classification] = ()
    sources: Sequence[AccountSource] = ()


@dataclass(frozen=True, slots=True)
class MemberInput:
    user_id: int
    weight: int = 1


@dataclass(slots=True)
class RuleDefinition:
    name: str
    position: int
    manager_type: ManagerType
    criteria: Criteria
    members: Sequence[MemberInput]
    contact_frequency_days: int | None = None
    is_active: bool = True
    rule_id: int | None = None
    clean_criteria: dict[str, list[str]] = field(default_factory=dict)


def _texts(checks: Checks, field: str, values: Sequence[str], limit: int) -> list[str]:
    found = [checks.text(f"{field}[{i}]", v, max_length=limit) for i, v in enumerate(values)]
    return sorted({v for v in found if v is not None})


def _check_definition(definition: RuleDefinition) -> RuleDefinition:
    checks = Checks()
    name = checks.text("name", definition.name, max_length=200, required=True)
    checks.int_range("position", definition.position, low=0, high=1_000_000)
    days = definition.contact_frequency_days
    checks.int_range("contactFrequencyDays", days, low=1, high=MAX_FREQUENCY_DAYS)
    criteria = definition.criteria
    countries = [
        checks.country(f"criteria.countryCodes[{i}]", code)
        for i, code in enumerate(criteria.country_codes)
    ]
    clean = {
        "country_codes": sorted({c for c in countries if c}),
        "regions": _texts(checks, "criteria.regions", criteria.regions, 100),
        "postal_code_prefixes": _texts(
            checks, "criteria.postalCodePrefixes", criteria.postal_code_prefixes, 20
        ),
        "industries": _texts(checks, "criteria.industries", criteria.industries, 100),
        "classifications": sorted({c.value for c in criteria.classifications}),
        "sources": sorted({s.value for s in criteria.sources}),
    }
    if not definition.members:
        checks.fail("members", "A rule needs at least one member.")
    seen: set[int] = set()
    for i, member in enumerate(definition.members):
        if member.weight < 1:
            checks.fail(f"members[{i}].weight", "A weight is at least 1.")
        if member.weight > 1000:
            checks.fail(f"members[{i}].weight", "A weight is at most 1000.")
        if member.user_id in seen:
            checks.fail(f"members[{i}].userId", "A user is in the pool once.")
        seen.add(member.user_id)
    checks.raise_if_any()
    definition.name = name or ""
    definition.clean_criteria = clean
    return definition


async def _check_members(session: AsyncSession, members: Sequence[MemberInput]) -> None:
    ids = [m.user_id for m in members]
    users = {u.id: u for u in await session.scalars(select(User).where(User.id.in_(ids)))}
    checks = Checks()
    for i, member in enumerate(members):
        user = users.get(member.user_id)
        if user is None:
            checks.add(NotFoundError("Unknown user.", field=f"members[{i}].userId"))
        elif user.role is Role.INTEGRATION:
            checks.fail(f"members[{i}].userId", "Integrations cannot hold accounts.")
    checks.raise_if_any()


async def define_rule(
    session: AsyncSession, *, actor: Actor, definition: RuleDefinition
) -> AssignmentRule:
    """Create a rule, or replace one (by id); kept members keep their round-robin state."""
    definition = _check_definition(definition)
    await _check_members(session, definition.members)
    values = {
        "name": definition.name,
        "position": definition.position,
        "manager_type": definition.manager_type,
        "contact_frequency_days": definition.contact_frequency_days,
        "is_active": definition.is_active,
        **definition.clean_criteria,
    }
    if definition.rule_id is None:
        rule = AssignmentRule(**values)
        session.add(rule)
        await session.flush()
        action = "rule.create"
    else:
        rule = await _lock_rule(session, definition.rule_id)
        for key, value in values.items():
            setattr(rule, key, value)
        rule.updated_at = func.now()
        action = "rule.update"
    await _replace_members(session, rule.id, definition.members)
    await session.flush()
    await session.refresh(rule)
    members = [{"userId": m.user_id, "weight": m.weight} for m in definition.members]
    await changes.record(
        session,
        actor=actor,
        audit=Audit(
            action, "AssignmentRule", rule.id, changes.created({**values, "members": members})
        ),
        events=_rule_event(rule, members),
    )
    return rule


def _rule_event(rule: AssignmentRule, members: list[dict[str, int]]) -> Event:
    data = {
        "id": events.global_id("AssignmentRule", rule.id),
        "name": rule.name,
        "managerType": rule.manager_type.value,
        "isActive": rule.is_active,
        "members": [
            {"userId": events.global_id("User", m["userId"]), "weight": m["weight"]}
            for m in members
        ],
    }
    key = f"AssignmentRule:{rule.id}"
    return Event(EventType.ASSIGNMENT_RULE_DEFINED, data, object_key=key)


async def _lock_rule(session: AsyncSession, rule_id: int) -> AssignmentRule:
    query = select(AssignmentRule).where(AssignmentRule.id == rule_id).with_for_update()
    rule = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if rule is None:
        raise NotFoundError("Unknown assignment rule.", field="id")
    return rule


async def _replace_members(
    session: AsyncSession, rule_id: int, members: Sequence[MemberInput]
) -> None:
    table = cast(Table, AssignmentRuleMember.__table__)
    kept = [m.user_id for m in members]
    await session.execute(
        delete(table).where(table.c.rule_id == rule_id, table.c.user_id.not_in(kept))
    )
    rows = [
        {"rule_id": rule_id, "user_id": m.user_id, "weight": m.weight, "position": i}
        for i, m in enumerate(members)
    ]
    statement = insert(table).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["rule_id", "user_id"],
        set_={"weight": statement.excluded.weight, "position": statement.excluded.position},
    )
    await session.execute(statement)


async def list_rules(session: AsyncSession) -> list[AssignmentRule]:
    query = select(AssignmentRule).order_by(
        AssignmentRule.manager_type, AssignmentRule.position, AssignmentRule.id
    )
    return list(await session.scalars(query))


async def members_by_rule(
    session: AsyncSession, rule_ids: Sequence[int]
) -> list[list[AssignmentRuleMember]]:
    query = (
        select(AssignmentRuleMember)
        .where(AssignmentRuleMember.rule_id.in_(rule_ids))
        .order_by(AssignmentRuleMember.rule_id, AssignmentRuleMember.position)
    )
    grouped: dict[int, list[AssignmentRuleMember]] = {i: [] for i in rule_ids}
    for member in await session.scalars(query):
        grouped[member.rule_id].append(member)
    return [grouped[i] for i in rule_ids]


async def backfill(
    session: AsyncSession, *, actor: Actor, filter: AccountFilter, dry_run: bool
) -> ApplyResult:
    """applyAssignmentRules: the rules over every account of the filter lacking a type."""
    query = accounts_query(filter, now=datetime.now(UTC), columns=[Account.id]).order_by(Account.id)
    ids = list(await session.scalars(query))
    return await apply_rules(session, actor=actor, account_ids=ids, dry_run=dry_run)


rules_by_id = rows_by_id(AssignmentRule)
