from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.activities import cadence
from app.db import rows_by_id
from app.errors import AppError, InvalidInputError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.changes import Audit
from app.kit.pagination import ListOrders, Order
from app.kit.validation import Checks
from app.models.accounts import Account
from app.models.assignments import (
    Assignment,
    BalanceStatus,
    CadenceStatus,
    ContactFrequencyDefault,
    ManagerType,
)
from app.models.auth import Role, User


class AlreadyAssignedError(AppError):
    code = "ALREADY_ASSIGNED"


MAX_FREQUENCY_DAYS = 3650


async def lock_account(session: AsyncSession, account_id: int, *, field: str) -> Account:
    """Serialises assignment changes per account (one user per account and manager type).

    FOR NO KEY UPDATE: activities being logged for the account (foreign key checks) go on.
    """
    query = select(Account).where(Account.id == account_id).with_for_update(key_share=True)
    account = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if account is None:
        raise NotFoundError("Unknown account.", field=field)
    return account


async def assignable_user(session: AsyncSession, user_id: int, *, field: str) -> User:
    """The user, locked FOR SHARE until commit: a concurrent role change (FOR UPDATE in
    updateUser) waits for this assignment, or this waits for it and reads the new role."""
    query = select(User).where(User.id == user_id).with_for_update(read=True)
    user = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if user is None:
        raise NotFoundError("Unknown user.", field=field)
    if not user.is_active:
        raise InvalidInputError("The user is inactive.", field=field)
    if user.role is Role.INTEGRATION:
        raise InvalidInputError("Integrations cannot hold accounts.", field=field)
    return user


async def reload(session: AsyncSession, ids: Sequence[int]) -> list[Assignment]:
    """Rows after SQL-side changes (trigger, cadence recompute), in the given order."""
    query = select(Assignment).where(Assignment.id.in_(ids))
    rows = {r.id: r for r in await session.scalars(query.execution_options(populate_existing=True))}
    return [rows[i] for i in ids]


def assignment_event(row: Assignment, change: str) -> Event:
    data = events.assignment_data(row, change)
    return Event(EventType.ASSIGNMENT_CHANGED, data, account_id=row.account_id)


def _assignment_values(row: Assignment) -> dict[str, object]:
    return {
        "accountId": row.account_id,
        "userId": row.user_id,
        "managerType": row.manager_type,
        "contactFrequencyDays": row.contact_frequency_days,
        "startedAt": row.started_at,
    }


async def _over_limit_warning(session: AsyncSession, user: User) -> list[str]:
    if user.max_accounts is None:
        return []
    query = select(func.count(distinct(Assignment.account_id))).where(Assignment.user_id == user.id)
    held = int(await session.scalar(query) or 0)
    if held <= user.max_accounts:
        return []
    return [f"{user.name} now holds {held} accounts, over their limit of {user.max_accounts}."]


async def assign_account(
    session: AsyncSession,
    *,
    actor: Actor,
    account_id: int,
    user_id: int,
    manager_type: ManagerType,
    contact_frequency_days: int | None,
    started_at: datetime | None = None,
) -> tuple[Assignment, list[str]]:
    """Give the account a user for one manager type; returns the row and soft-limit warnings.

    Without a frequency, the default for the manager type and the account's classification
    applies (ContactFrequencyDefault); it is copied, so later changes leave the row alone.
    """
    checks = Checks()
    checks.int_range("contactFrequencyDays", contact_frequency_days, low=1, high=MAX_FREQUENCY_DAYS)
    checks.moment("startedAt", started_at)
    checks.raise_if_any()
    account = await lock_account(session, account_id, field="accountId")
    if account.archived_at is not None:
        raise InvalidInputError("The account is archived.", field="accountId")
    if contact_frequency_days is None:
        contact_frequency_days = await _default_frequency(session, manager_type, account)
    user = await assignable_user(session, user_id, field="userId")
    holder = await session.scalar(
        select(Assignment.user_id).where(
            Assignment.account_id == account_id, Assignment.manager_type == manager_type
        )
    )
    if holder is not None:
        raise AlreadyAssignedError(
            f"The account already has a {manager_type.value} assignment; use bulkReassign.",
            field="userId",
        )
    row = Assignment(
        account_id=account_id,
        user_id=user_id,
        manager_type=manager_type,
        contact_frequency_days=contact_frequency_days,
        started_at=started_at or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    await cadence.recompute_assignments(session, [row.id])
    (row,) = await reload(session, [row.id])
    await changes.record(
        session,
        actor=actor,
        audit=Audit(
            "assignment.create", "Assignment", row.id, changes.created(_assignment_values(row))
        ),
        events=assignment_event(row, "created"),
    )
    return row, await _over_limit_warning(session, user)


async def _default_frequency(
    session: AsyncSession, manager_type: ManagerType, account: Account
) -> int:
    table = ContactFrequencyDefault
    found = None
    if account.classification is not None:
        found = await session.scalar(
            select(table.contact_frequency_days).where(
                table.manager_type == manager_type, table.classification == account.classification
            )
        )
    if found is None:
        raise InvalidInputError(
            "No default frequency for this manager type and classification: give one.",
            field="contactFrequencyDays",
        )
    return int(found)


async def unassign(session: AsyncSession, *, actor: Actor, assignment_id: int) -> int:
    query = select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    row = (await session.scalars(query)).one_or_none()
    if row is None:
        raise NotFoundError("Unknown assignment.", field="assignmentId")
    before = _assignment_values(row)
    await session.delete(row)
    await session.flush()
    delta = changes.diff(before, dict.fromkeys(before))
    await changes.record(
        session,
        actor=actor,
        audit=Audit("assignment.delete", "Assignment", assignment_id, delta),
        events=assignment_event(row, "removed"),
    )
    return assignment_id


@dataclass(frozen=True, slots=True)
class AssignmentFilter:
    user_id: int | None = None
    manager_type: ManagerType | None = None
    account_id: int | None = None
    status: Sequence[CadenceStatus] | None = None
    balance: Sequence[BalanceStatus] | None = None
    # Work left by deactivated users, to be reassigned (true) or only active users' (false).
    inactive_users: bool | None = None


ASSIGNMENT_ORDER = (Assignment.next_contact_due, Assignment.id)
# The root assignments list's orders (its `orderBy`); without one, most overdue first.
ASSIGNMENT_ORDERS = ListOrders(
    {"NEXT_CONTACT_DUE": (Assignment.next_contact_due,), "STARTED_AT": (Assignment.started_at,)},
    tiebreak=Assignment.id,
    default=Order.of(ASSIGNMENT_ORDER),
)


def assignments_query(filter: AssignmentFilter, now: datetime) -> Select[Assignment]:
    """Assignments matching the filter; ordered by ASSIGNMENT_ORDER, most overdue first."""
    query = select(Assignment)
    if filter.user_id is not None:
        query = query.where(Assignment.user_id == filter.user_id)
    if filter.manager_type is not None:
        query = query.where(Assignment.manager_type == filter.manager_type)
    if filter.account_id is not None:
        query = query.where(Assignment.account_id == filter.account_id)
    if filter.status:
        query = query.where(cadence.status_condition(filter.status, now))
    if filter.balance:
        query = query.where(cadence.balance_condition(filter.balance))
    if filter.inactive_users is not None:
        inactive = select(User.id).where(User.is_active.is_(False))
        held = Assignment.user_id.in_(inactive)
        query = query.where(held if filter.inactive_users else ~held)
    return query


assignments_by_id = rows_by_id(Assignment)


async def assignments_by_account(
    session: AsyncSession, account_ids: Sequence[int]
) -> list[list[Assignment]]:
    """Each account's assignments in manager type order (SALES first), then by id."""
    query = select(Assignment).where(Assignment.account_id.in_(account_ids))
    grouped: dict[int, list[Assignment]] = {i: [] for i in account_ids}
    for row in await session.scalars(query):
        grouped[row.account_id].append(row)
    rank = {t: n for n, t in enumerate(ManagerType)}
    return [sorted(grouped[i], key=lambda r: (rank[r.manager_type], r.id)) for i in account_ids]


@dataclass(frozen=True, slots=True)
class Workload:
    assigned_accounts: int = 0
    overdue: int = 0


async def workload_by_user(session: AsyncSession, user_ids: Sequence[int]) -> list[Workload]:
    """Distinct accounts held and overdue assignments per user, in one query."""
    query = (
        select(
            Assignment.user_id,
            func.count(distinct(Assignment.account_id)),
            func.count().filter(Assignment.next_contact_due < func.now()),
        )
        .where(Assignment.user_id.in_(user_ids))
        .group_by(Assignment.user_id)
    )
    found = {uid: Workload(int(n), int(late)) for uid, n, late in await session.execute(query)}
    return [found.get(i, Workload()) for i in user_ids]
