"""Contact suggestions (seed 000: move calls from surplus accounts to deficit ones).

A user's assignments in DEFICIT under the default window and thresholds (as coverage and
the balance filter count it, app.activities.cadence), most urgent first: due longest ago,
then classification A before B, C, D and none. An account in SURPLUS on any of its
assignments is never suggested. Each comes with the kind of contact that has counted most
on the account (by the assignment's contact rule), and a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Select, String, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from app.activities import cadence
from app.activities.cadence import Balance
from app.errors import ForbiddenError, NotFoundError
from app.kit.actor import Actor
from app.kit.pagination import Order, Page, PageArgs, SortKey, Window, count, sorted_page
from app.kit.sql import sql_file
from app.models.accounts import Account, Classification
from app.models.activities import ActivityKind
from app.models.assignments import Assignment, BalanceStatus
from app.models.auth import User

# Whose suggestions a caller may read besides their own (the rule table: managers).
READ_ANY = "suggestion.read_any"
DEFAULT_KIND = ActivityKind.CALL_OUTBOUND
DAY = 86_400

# Classification A first, unclassified accounts last ("Z" sorts after every class).
_CLASS_RANK = func.coalesce(cast(Account.classification, String), "Z")
ORDER = Order(
    "suggestions",
    (SortKey(Assignment.next_contact_due), SortKey(_CLASS_RANK), SortKey(Assignment.id)),
)

_KINDS = sql_file(__package__, "suggested_kinds.sql", bindparam("ids", type_=ARRAY(BigInteger)))


@dataclass(frozen=True, slots=True)
class Suggestion:
    assignment: Assignment
    classification: Classification | None
    balance: Balance
    suggested_kind: ActivityKind
    reason: str

    @property
    def shortfall(self) -> int:
        """Contacts made in the window minus the whole number the frequency asked for."""
        return self.balance.actual - int(self.balance.expected)


async def whose(session: AsyncSession, *, actor: Actor, user_id: int | None) -> int:
    """The user whose suggestions are read: the caller by default; others need READ_ANY."""
    wanted = actor.user_id if user_id is None else user_id
    if wanted is None:
        raise NotFoundError("Name the user whose suggestions to list.", field="userId")
    if wanted != actor.user_id and not actor.may(READ_ANY):
        raise ForbiddenError("You may only list your own suggestions.", field="userId")
    if await session.get(User, wanted) is None:
        raise NotFoundError("Unknown user.", field="userId")
    return wanted


def suggestions_query(user_id: int) -> Select[Any]:
    in_surplus = (
        select(Assignment.account_id)
        .where(cadence.balance_condition([BalanceStatus.SURPLUS]))
        .correlate(None)
    )
    return (
        select(Assignment)
        .join(Account, Account.id == Assignment.account_id)
        .where(
            Assignment.user_id == user_id,
            Account.archived_at.is_(None),
            cadence.balance_condition([BalanceStatus.DEFICIT]),
            Assignment.account_id.not_in(in_surplus),
        )
    )


async def contact_suggestions(
    session: AsyncSession, *, user_id: int, args: PageArgs, now: datetime | None = None
) -> Page[Suggestion]:
    now = now or datetime.now(UTC)
    window = Window(size=args.first, cursor=args.after)
    query = suggestions_query(user_id)
    page = await sorted_page(session, query, order=ORDER, window=window, whole_row=False)
    rows: list[Assignment] = page.items
    kinds = await _suggested_kinds(session, [row.id for row in rows])
    classes = await _classifications(session, [row.account_id for row in rows])
    items = [_suggestion(row, classes.get(row.account_id), kinds.get(row.id), now) for row in rows]
    return Page(items, page.cursors, page.has_next_page, page.has_previous_page)


async def count_suggestions(session: AsyncSession, *, user_id: int) -> int:
    return await count(session, suggestions_query(user_id))


async def _suggested_kinds(session: AsyncSession, ids: Sequence[int]) -> dict[int, ActivityKind]:
    if not ids:
        return {}
    rows = await session.execute(_KINDS, {"ids": list(ids)})
    return {pk: ActivityKind(kind) for pk, kind in rows}


async def _classifications(
    session: AsyncSession, account_ids: Sequence[int]
) -> dict[int, Classification]:
    if not account_ids:
        return {}
    query = select(Account.id, Account.classification).where(Account.id.in_(account_ids))
    return {pk: found for pk, found in await session.execute(query) if found is not None}


def _suggestion(
    row: Assignment, classification: Classification | None, kind: ActivityKind | None, now: datetime
) -> Suggestion:
    balance = cadence.contact_balance(
        row.contact_days,
        started_at=row.started_at,
        frequency_days=row.contact_frequency_days,
        today=cadence.utc_today(now),
    )
    return Suggestion(
        assignment=row,
        classification=classification,
        balance=balance,
        suggested_kind=kind or DEFAULT_KIND,
        reason=reason(row, classification, balance, now),
    )


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def reason(
    row: Assignment, classification: Classification | None, balance: Balance, now: datetime
) -> str:
    """Why to contact now, e.g. 'Overdue by 12 days; A accounts are contacted every 14 days;
    1 contact in the last 90 days where 6 were due.'"""
    late = int((now - row.next_contact_due).total_seconds() // DAY)
    if row.next_contact_due >= now:
        ahead = int((row.next_contact_due - now).total_seconds() // DAY)
        when = "Due today" if ahead == 0 else f"Due in {_days(ahead)}"
    else:
        when = "Overdue since today" if late == 0 else f"Overdue by {_days(late)}"
    who = "this account is" if classification is None else f"{classification.value} accounts are"
    every = f"{who} contacted every {_days(row.contact_frequency_days)}"
    window = round(balance.expected * row.contact_frequency_days)
    made = "1 contact" if balance.actual == 1 else f"{balance.actual} contacts"
    due = int(balance.expected)
    were = "was" if due == 1 else "were"
    return f"{when}; {every}; {made} in the last {_days(window)} where {due} {were} due."
