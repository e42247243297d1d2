"""Rules applied to accounts: the first active matching rule per manager type assigns the
account to the next pool member by smooth weighted round-robin (nginx's algorithm).

The members' round-robin state is locked (FOR UPDATE, in key order) before the accounts'
assignments are read, so concurrent creations take turns one after another and never
hand out the same turn twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.activities import cadence
from app.events import Event, EventType, assignment_data
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.sql import sql_file
from app.models.accounts import Account, Classification
from app.models.assignments import Assignment, ContactFrequencyDefault, ManagerType
from app.models.auth import Role, User
from app.models.leads import AssignmentRule, AssignmentRuleMember

# When neither the rule nor the defaults per manager type and classification
# (contact_frequency_defaults) name a frequency: the cadence a new assignment starts with.
DEFAULT_CONTACT_FREQUENCY_DAYS = 30

Defaults = dict[tuple[ManagerType, Classification], int]


@dataclass(slots=True)
class _Member:
    user_id: int
    weight: int
    current: int
    # Active and not an integration: may take an account now (the user row says).
    eligible: bool
    max_accounts: int | None
    assigned: int = 0


@dataclass(slots=True)
class _Rule:
    row: AssignmentRule
    members: list[_Member] = field(default_factory=list)

    def matches(self, account: Any) -> bool:
        rule = self.row
        if rule.country_codes and (account.country_code or "").upper() not in rule.country_codes:
            return False
        if rule.regions and (account.region or "").lower() not in {r.lower() for r in rule.regions}:
            return False
        if rule.postal_code_prefixes and not any(
            (account.postal_code or "").startswith(p) for p in rule.postal_code_prefixes
        ):
            return False
        if rule.industries and (account.industry or "").lower() not in {
            i.lower() for i in rule.industries
        }:
            return False
        if rule.classifications and account.classification not in rule.classifications:
            return False
        return not rule.sources or account.source in rule.sources


@dataclass(slots=True)
class ApplyResult:
    dry_run: bool
    matched: int = 0
    assigned: int = 0
    unmatched: int = 0
    per_user: Counter[int] = field(default_factory=Counter)


def next_member(members: Sequence[_Member], held: dict[int, int]) -> _Member | None:
    """Smooth weighted round-robin over the members that can take an account now."""
    pool = [
        m
        for m in members
        if m.eligible and (m.max_accounts is None or held.get(m.user_id, 0) < m.max_accounts)
    ]
    if not pool:
        return None
    total = 0
    for member in pool:
        member.current += member.weight
        total += member.weight
    best = max(pool, key=lambda m: m.current)  # the first of equals: pool order
    best.current -= total
    return best


async def _load_rules(session: AsyncSession, *, lock: bool) -> dict[ManagerType, list[_Rule]]:
    query = (
        select(AssignmentRule)
        .where(AssignmentRule.is_active)
        .order_by(AssignmentRule.manager_type, AssignmentRule.position, AssignmentRule.id)
    )
    rules = {r.id: _Rule(r) for r in await session.scalars(query)}
    if not rules:
        return {}
    members = (
        select(AssignmentRuleMember)
        .where(AssignmentRuleMember.rule_id.in_(list(rules)))
        .order_by(AssignmentRuleMember.rule_id, AssignmentRuleMember.user_id)
    )
    if lock:
        members = members.with_for_update()
    rows = list(await session.scalars(members.execution_options(populate_existing=True)))
    users = await _member_users(session, {m.user_id for m in rows}, lock=lock)
    for member in rows:
        eligible, max_accounts = users[member.user_id]
        rules[member.rule_id].members.append(
            _Member(member.user_id, member.weight, member.current_weight, eligible, max_accounts)
        )
    by_type: dict[ManagerType, list[_Rule]] = {}
    for rule in rules.values():
        rule.members.sort(key=lambda m: m.user_id)
        by_type.setdefault(rule.row.manager_type, []).append(rule)
    return by_type


async def _member_users(
    session: AsyncSession, user_ids: set[int], *, lock: bool
) -> dict[int, tuple[bool, int | None]]:
    """Per member, whether they may take accounts and their limit. Locked FOR SHARE (in id
    order) when assigning: a role change or deactivation waits for these assignments, or
    they wait for it and see the new row, as assignAccount does."""
    query = (
        select(User.id, User.is_active, User.role, User.max_accounts)
        .where(User.id.in_(user_ids))
        .order_by(User.id)
    )
    if lock:
        query = query.with_for_update(read=True)
    rows = await session.execute(query)
    return {
        uid: (active and role is not Role.INTEGRATION, limit) for uid, active, role, limit in rows
    }


def _ids(ids: Sequence[int]) -> Any:
    # One array parameter: a backfill passes every account id, far over the bind limit.
    return bindparam("ids", list(ids), type_=ARRAY(BigInteger))


async def frequency_defaults(session: AsyncSession) -> Defaults:
    table = ContactFrequencyDefault
    rows = await session.execute(
        select(table.manager_type, table.classification, table.contact_frequency_days)
    )
    return {(manager_type, cls): days for manager_type, cls, days in rows}


def frequency_days(
    defaults: Defaults,
    manager_type: ManagerType,
    classification: Classification | None,
    named: int | None = None,
) -> int:
    """The frequency a rule-made assignment starts with: the rule's own, else the default
    for the manager type and the account's classification, else 30 days."""
    if named:
        return named
    found = defaults.get((manager_type, classification)) if classification else None
    return found or DEFAULT_CONTACT_FREQUENCY_DAYS


async def _held_counts(session: AsyncSession, user_ids: set[int]) -> dict[int, int]:
    query = (
        select(Assignment.user_id, func.count(func.distinct(Assignment.account_id)))
        .where(Assignment.user_id.in_(user_ids))
        .group_by(Assignment.user_id)
    )
    return {uid: int(n) for uid, n in await session.execute(query)}


async def apply_rules(
    session: AsyncSession, *, actor: Actor, account_ids: Sequence[int], dry_run: bool = False
) -> ApplyResult:
    """Assign each account a user per manager type it has none of, by the first matching rule.

    The one entry point for createAccount, upsertAccounts, imports, convertLead and the
    applyAssignmentRules backfill. A dry run computes the same answer and writes nothing.
    """
    result = ApplyResult(dry_run=dry_run)
    if not account_ids:
        return result
    rules = await _load_rules(session, lock=not dry_run)
    ids = sorted(set(account_ids))
    if not rules:
        result.unmatched = len(ids)
        return result
    limited = {m.user_id for rs in rules.values() for r in rs for m in r.members if m.max_accounts}
    held = await _held_counts(session, limited) if limited else {}
    accounts = await session.execute(
        select(
            Account.id,
            Account.country_code,
            Account.region,
            Account.postal_code,
            Account.industry,
            Account.classification,
            Account.source,
        )
        .where(Account.id == any_(_ids(ids)), Account.archived_at.is_(None))
        .order_by(Account.id)
    )
    existing = await session.execute(
        select(Assignment.account_id, Assignment.manager_type).where(
            Assignment.account_id == any_(_ids(ids))
        )
    )
    taken = {(a, t) for a, t in existing}
    defaults = await frequency_defaults(session)
    holders: dict[int, set[int]] = {}
    new_rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    seen = 0
    for account in accounts:
        seen += 1
        matched = False
        for manager_type, candidates in rules.items():
            rule = next((r for r in candidates if r.matches(account)), None)
            if rule is None:
                continue
            matched = True
            if (account.id, manager_type) in taken:
                continue
            member = next_member(rule.members, held)
            if member is None:
                continue
            member.assigned += 1
            if account.id not in holders.setdefault(member.user_id, set()):
                holders[member.user_id].add(account.id)
                held[member.user_id] = held.get(member.user_id, 0) + 1
            result.per_user[member.user_id] += 1
            new_rows.append(
                {
                    "account_id": account.id,
                    "user_id": member.user_id,
                    "manager_type": manager_type,
                    "contact_frequency_days": frequency_days(
                        defaults,
                        manager_type,
                        account.classification,
                        rule.row.contact_frequency_days,
                    ),
                    "started_at": now,
                    "rule_id": rule.row.id,
                }
            )
        result.matched += matched
    result.unmatched = seen - result.matched
    result.assigned = len(new_rows)
    if not dry_run and new_rows:
        await _write(session, actor, rules, new_rows)
    return result


async def _write(
    session: AsyncSession,
    actor: Actor,
    rules: dict[ManagerType, list[_Rule]],
    new_rows: list[dict[str, Any]],
) -> None:
    table = cast(Table, Assignment.__table__)
    values = [{k: v for k, v in row.items() if k != "rule_id"} for row in new_rows]
    inserted = await session.execute(insert(table).returning(table.c.id), values)
    ids = [row.id for row in inserted]
    await cadence.recompute_assignments(session, ids)
    territories = await _record_territories(session, new_rows)
    await _record(session, actor, ids, new_rows, territories)
    # Every member's current weight moved (also those skipped for the turn): store them all.
    member_table = cast(Table, AssignmentRuleMember.__table__)
    state = [
        {"r": rule.row.id, "u": m.user_id, "c": m.current, "n": m.assigned}
        for candidates in rules.values()
        for rule in candidates
        for m in rule.members
    ]
    statement = (
        update(member_table)
        .where(member_table.c.rule_id == bindparam("r"), member_table.c.user_id == bindparam("u"))
        .values(
            current_weight=bindparam("c"),
            assigned_count=member_table.c.assigned_count + bindparam("n"),
        )
    )
    await session.execute(statement, state)


_SET_TERRITORY = sql_file(
    __package__,
    "set_territory.sql",
    bindparam("accounts", type_=ARRAY(BigInteger)),
    bindparam("rules", type_=ARRAY(BigInteger)),
)


def _first_territories(new_rows: list[dict[str, Any]]) -> dict[int, int]:
    """Per account, the rule of its first new assignment in manager-type order (SALES first)."""
    order = list(ManagerType)
    chosen: dict[int, int] = {}
    for row in sorted(new_rows, key=lambda r: order.index(r["manager_type"])):
        chosen.setdefault(row["account_id"], row["rule_id"])
    return chosen


async def _record_territories(
    session: AsyncSession, new_rows: list[dict[str, Any]]
) -> dict[int, int]:
    """Record on each account without a territory the rule that assigned it: the accounts
    set, with their rule."""
    chosen = _first_territories(new_rows)
    accounts = sorted(chosen)
    params = {"accounts": accounts, "rules": [chosen[a] for a in accounts]}
    result = await session.execute(_SET_TERRITORY, params)
    recorded = {account_id: rule_id for account_id, rule_id in result}
    for account_id, rule_id in recorded.items():
        # An Account loaded before (createAccount's) must not answer with its old value.
        loaded = session.identity_map.get(Session.identity_key(Account, account_id))
        if loaded is not None:
            set_committed_value(loaded, "territory_id", rule_id)
    return recorded


def _territory_audits(territories: dict[int, int]) -> list[Audit]:
    return [
        Audit(
            "account.territory",
            "Account",
            account_id,
            {"territoryId": {"before": None, "after": rule_id}},
        )
        for account_id, rule_id in territories.items()
    ]


async def _record(
    session: AsyncSession,
    actor: Actor,
    ids: list[int],
    new_rows: list[dict[str, Any]],
    territories: dict[int, int],
) -> None:
    """The new assignments' audit rows and assignment.changed events (the one write path),
    and an audit row per account whose territory was recorded."""
    audits = [
        Audit(
            "assignment.create",
            "Assignment",
            assignment_id,
            {
                "accountId": {"before": None, "after": row["account_id"]},
                "userId": {"before": None, "after": row["user_id"]},
                "managerType": {"before": None, "after": row["manager_type"].value},
                "source": {"before": None, "after": "assignmentRule"},
                "ruleId": {"before": None, "after": row["rule_id"]},
            },
        )
        for assignment_id, row in zip(ids, new_rows, strict=True)
    ]
    audits += _territory_audits(territories)
    query = select(Assignment).where(Assignment.id.in_(ids)).order_by(Assignment.id)
    rows = await session.scalars(query.execution_options(populate_existing=True))
    announced = [
        Event(EventType.ASSIGNMENT_CHANGED, assignment_data(r, "created"), r.account_id)
        for r in rows
    ]
    await changes.record(session, actor=actor, audit=audits, events=announced)
