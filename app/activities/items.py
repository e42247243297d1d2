"""An activity to log, as the edge parsed it, and its checks: values, references, REP scope.

Every logging path (logActivities, bulk ingest, imports) validates items here, so each
reports the same errors for the same item; a bad item is rejected by its index.
A REP logs only on accounts they hold, attributed to themselves; an item outside that scope
is rejected like any other bad item. An item on a lead (`lead_id`) is logActivity's alone
(app.leads.activities): the batch paths reject it by its index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, String

from app.auth.scope import accounts_held
from app.errors import AppError, ForbiddenError, NotFoundError
from app.kit.actor import Actor
from app.kit.refs import account_ids_by_ref
from app.kit.validation import Checks
from app.models.accounts import Account, Contact
from app.models.activities import ActivityKind
from app.models.auth import User

MAX_SUMMARY = 2000
MAX_FUTURE = timedelta(hours=24)
MAX_AMOUNT = Decimal("1e12")


@dataclass(frozen=True, slots=True)
class ActivityInput:
    kind: ActivityKind
    occurred_at: datetime
    account_id: int | None = None
    account_external_ref: str | None = None
    user_id: int | None = None
    user_email: str | None = None
    contact_id: int | None = None
    summary: str | None = None
    amount: Decimal | None = None
    source: str | None = None
    external_id: str | None = None
    lead_id: int | None = None


@dataclass(slots=True)
class ActivityRow:
    index: int
    account_id: int
    kind: str
    occurred_at: datetime
    user_id: int | None
    contact_id: int | None
    amount: Decimal | None
    summary: str | None
    source: str | None
    external_id: str | None
    logged_by_id: int | None


def _check_item(item: ActivityInput, now: datetime) -> tuple[Checks, dict[str, Any]]:
    checks = Checks()
    if item.lead_id is not None:
        checks.fail("leadId", "Log a lead's activities one at a time, with logActivity.")
    elif (item.account_id is None) == (item.account_external_ref is None):
        checks.fail("accountId", "Give accountId or accountExternalRef (exactly one).")
    return checks, check_values(checks, item, now)


def check_values(checks: Checks, item: ActivityInput, now: datetime) -> dict[str, Any]:
    """Every check of an item but its account: the clean text values by name."""
    if item.user_id is not None and item.user_email is not None:
        checks.fail("userId", "Give userId or userEmail, not both.")
    occurred_at = checks.moment("occurredAt", item.occurred_at)
    if occurred_at is not None and occurred_at > now + MAX_FUTURE:
        checks.fail("occurredAt", "occurredAt is more than 24 hours in the future.")
    checks.decimal("amount", item.amount, low=Decimal(0), high=MAX_AMOUNT, places=2)
    clean = {
        "summary": checks.text("summary", item.summary, max_length=MAX_SUMMARY),
        "source": checks.text("source", item.source, max_length=64),
        "external_id": checks.text("externalId", item.external_id, max_length=200),
        "account_external_ref": checks.text(
            "accountExternalRef",
            item.account_external_ref,
            max_length=100,
            required=item.account_external_ref is not None,
        ),
        "user_email": checks.text(
            "userEmail", item.user_email, max_length=254, required=item.user_email is not None
        ),
    }
    if clean["external_id"] is not None and clean["source"] is None:
        checks.fail("source", "source is required with externalId.")
    return clean


@dataclass(slots=True)
class _References:
    account_ids: set[int]
    account_refs: dict[str, int]
    user_ids: set[int]
    user_emails: dict[str, int]
    contacts: dict[int, int]


def _array(values: set[Any], item_type: Any) -> BindParameter[Any]:
    """One array parameter instead of an IN list: the same SQL text (and prepared
    statement) for every batch size, and no per-value bind parameters to render."""
    return bindparam(None, list(values), type_=ARRAY(item_type))


async def _load_references(
    session: AsyncSession, items: Sequence[tuple[ActivityInput, dict[str, Any]]]
) -> _References:
    """Every account, user and contact the batch names, in one query per kind.

    Text keys come from the checked values (`clean`): raw ones may hold what PostgreSQL
    refuses (NUL) and would fail the whole batch.
    """
    ids = {i.account_id for i, _ in items if i.account_id is not None}
    refs = {c["account_external_ref"] for _, c in items if c["account_external_ref"]}
    user_ids = {i.user_id for i, _ in items if i.user_id is not None}
    emails = {c["user_email"].lower() for _, c in items if c["user_email"]}
    contact_ids = {i.contact_id for i, _ in items if i.contact_id is not None}
    return _References(
        account_ids=set(await _lookup(session, Account.id, Account.id, ids, BigInteger)),
        account_refs=await account_ids_by_ref(session, refs),
        user_ids=set(await _lookup(session, User.id, User.id, user_ids, BigInteger)),
        user_emails=await _lookup(session, func.lower(User.email), User.id, emails, String),
        contacts=await _lookup(session, Contact.id, Contact.account_id, contact_ids, BigInteger),
    )


async def _lookup(
    session: AsyncSession, key: Any, value: Any, wanted: set[Any], item_type: Any
) -> dict[Any, Any]:
    """`value` by `key` for the wanted keys that exist; no statement when none is wanted."""
    if not wanted:
        return {}
    rows = await session.execute(select(key, value).where(key == any_(_array(wanted, item_type))))
    return {found: other for found, other in rows if found is not None}


def _resolve_user(
    item: ActivityInput,
    checks: Checks,
    clean: dict[str, Any],
    refs: _References,
    reads_people: bool,
) -> int | None:
    user_id = item.user_id
    if user_id is not None and user_id not in refs.user_ids:
        checks.add(NotFoundError("Unknown user.", field="userId"))
    if clean["user_email"] is not None:
        user_id = refs.user_emails.get(clean["user_email"].lower())
        # Who may not read people (an integration) learns nothing of an email: one that is
        # no user's leaves the activity without a user, as if none was named.
        if user_id is None and reads_people:
            checks.add(NotFoundError("No user has this email.", field="userEmail"))
    return user_id


async def resolve_user(
    session: AsyncSession,
    *,
    actor: Actor,
    item: ActivityInput,
    checks: Checks,
    clean: dict[str, Any],
) -> int | None:
    """The user an item names (by id or email), checked as the batch paths check it."""
    refs = await _load_references(session, [(item, clean)])
    return _resolve_user(item, checks, clean, refs, actor.may("user.read"))


def _resolve(
    index: int,
    item: ActivityInput,
    checks: Checks,
    clean: dict[str, Any],
    refs: _References,
    reads_people: bool,
) -> ActivityRow | None:
    account_id = item.account_id
    if account_id is not None and account_id not in refs.account_ids:
        checks.add(NotFoundError("Unknown account.", field="accountId"))
    if clean["account_external_ref"] is not None:
        account_id = refs.account_refs.get(clean["account_external_ref"])
        if account_id is None:
            checks.add(
                NotFoundError("No account has this externalRef.", field="accountExternalRef")
            )
    user_id = _resolve_user(item, checks, clean, refs, reads_people)
    if item.contact_id is not None and refs.contacts.get(item.contact_id) != account_id:
        checks.add(NotFoundError("Unknown contact for this account.", field="contactId"))
    if checks.errors or account_id is None:
        return None
    return ActivityRow(
        index=index,
        account_id=account_id,
        kind=item.kind.value,
        occurred_at=item.occurred_at,
        user_id=user_id,
        contact_id=item.contact_id,
        amount=item.amount,
        summary=clean["summary"],
        source=clean["source"],
        external_id=clean["external_id"],
        logged_by_id=None,
    )


async def _within_rep_scope(
    session: AsyncSession,
    actor: Actor,
    items: Sequence[ActivityInput | AppError],
    rows: list[ActivityRow],
) -> tuple[list[ActivityRow], list[tuple[int, list[AppError]]]]:
    """Without `activity.log_unscoped` (a REP) a caller logs only on accounts they hold, as
    themselves (unnamed user: the caller)."""
    if actor.may("activity.log_unscoped") or actor.user_id is None or not rows:
        return rows, []
    held = await accounts_held(
        session, user_id=actor.user_id, account_ids={r.account_id for r in rows}
    )
    kept: list[ActivityRow] = []
    rejected: list[tuple[int, list[AppError]]] = []
    for row in rows:
        item = items[row.index]
        assert isinstance(item, ActivityInput)
        errors: list[AppError] = []
        if row.account_id not in held:
            where = "accountId" if item.account_id is not None else "accountExternalRef"
            errors.append(ForbiddenError("You may only log on accounts you hold.", field=where))
        if row.user_id not in (None, actor.user_id):
            who = "userId" if item.user_id is not None else "userEmail"
            errors.append(ForbiddenError("You may only log activities as yourself.", field=who))
        if errors:
            rejected.append((row.index, errors))
        else:
            row.user_id = actor.user_id
            kept.append(row)
    return kept, rejected


async def validate_items(
    session: AsyncSession,
    *,
    actor: Actor,
    items: Sequence[ActivityInput | AppError],
    now: datetime | None = None,
) -> tuple[list[ActivityRow], list[tuple[int, list[AppError]]]]:
    """The rows to store (each with its item's index) and the rejected items' errors."""
    now = now or datetime.now(UTC)
    rejected: list[tuple[int, list[AppError]]] = []
    checked: list[tuple[int, ActivityInput, Checks, dict[str, Any]]] = []
    for index, item in enumerate(items):
        if isinstance(item, AppError):
            rejected.append((index, list(item)))
        else:
            checked.append((index, item, *_check_item(item, now)))
    refs = await _load_references(session, [(i, clean) for _, i, _, clean in checked])
    rows: list[ActivityRow] = []
    reads_people = actor.may("user.read")
    for index, item, checks, clean in checked:
        row = _resolve(index, item, checks, clean, refs, reads_people)
        if row is None:
            rejected.append((index, checks.errors))
        else:
            row.logged_by_id = actor.user_id
            rows.append(row)
    rows, out_of_scope = await _within_rep_scope(session, actor, items, rows)
    rejected.extend(out_of_scope)
    return rows, rejected
