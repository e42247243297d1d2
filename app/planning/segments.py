"""ABC segmentation by revenue share, the key contact map, and review/renewal lists."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Date,
    Numeric,
    Select,
    String,
    Subquery,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError, NotFoundError
from app.events import EventType
from app.kit.actor import Actor
from app.kit.cursor import decode_cursor, encode_cursor
from app.kit.pagination import Page, PageArgs
from app.kit.sql import REPORT_SETTINGS
from app.models.accounts import Account, BuyingRole, Classification, Contact
from app.models.audit import AuditEntry
from app.models.planning import AccountPlan, PlanStatus
from app.models.webhooks import OutboxEvent
from app.planning import window
from app.planning.periods import custom_plans


@dataclass(frozen=True, slots=True)
class Cutoffs:
    a: float = 0.5
    b: float = 0.8
    c: float = 0.95

    def check(self) -> Cutoffs:
        if not 0 < self.a <= self.b <= self.c <= 1:
            raise InvalidInputError("Cut-offs must satisfy 0 < a <= b <= c <= 1.", field="aCutoff")
        return self


@dataclass(frozen=True, slots=True)
class Suggestion:
    account_id: int
    revenue_last_12_months: Decimal
    cumulative_share_before: Decimal
    suggested: Classification


def suggestions_query(cutoffs: Cutoffs) -> Subquery:
    """Every live account ranked by revenue in the last 12 months, with its share and class."""
    joined, cents = window.revenue_last_12_months()
    # Ranked in the order pages are read, so the page needs no second sort.
    rank = {"order_by": (-cents, Account.id), "rows": (None, -1)}
    ranked = (
        select(
            Account.id.label("account_id"),
            Account.classification.label("current"),
            cents.label("cents"),
            dollars(func.coalesce(func.sum(cents).over(**rank), 0)).label("before"),  # type: ignore[arg-type]
            dollars(func.sum(cents).over()).label("total"),
        )
        .select_from(joined)
        .where(Account.archived_at.is_(None))
        .subquery("ranked")
    )
    share = func.coalesce(ranked.c.before / func.nullif(ranked.c.total, 0), 0)
    suggested = _suggested(cutoffs, ranked.c.cents, share)
    return select(
        ranked.c.account_id,
        ranked.c.current,
        share.label("share"),
        suggested.label("suggested"),
    ).subquery("suggestions")


def dollars(cents: Any) -> Any:
    """Cents (an integer) as money with two decimals, exactly (shares divide these)."""
    return cents * literal(Decimal("0.01"), Numeric)


def _suggested(cutoffs: Cutoffs, revenue: Any, share: Any) -> Any:
    return case(
        (revenue <= 0, "D"),
        (share < cast(literal(cutoffs.a), Numeric), "A"),
        (share < cast(literal(cutoffs.b), Numeric), "B"),
        (share < cast(literal(cutoffs.c), Numeric), "C"),
        else_="D",
    )


async def suggestion_page(
    session: AsyncSession, *, cutoffs: Cutoffs, args: PageArgs
) -> Page[Suggestion]:
    """One page of suggestions_query's ranking, without ranking every account.

    The page is the next rows after the cursor (a top-N, not a sort of all accounts); the
    revenue ranked above a row is what lies up to the cursor plus the rows before it on the
    page, and the total is one more pass over the same per-account revenue. Each account's
    revenue is its stored sum since the window's anchor plus a few corrections (see
    app/planning/window.py), so no activities are summed per account here.
    """
    await session.execute(REPORT_SETTINGS)
    joined, cents = window.revenue_last_12_months()
    live = (
        select(Account.id.label("account_id"), cents.label("cents"), (-cents).label("neg"))
        .select_from(joined)
        .where(Account.archived_at.is_(None))
        .cte("live_revenue")
    )
    key = tuple_(live.c.neg, live.c.account_id)
    page = select(live.c.account_id, live.c.cents, live.c.neg)
    above: Any = literal(0, Numeric)
    if args.after is not None:
        cursor = tuple_(*decode_cursor(args.after, (live.c.neg, live.c.account_id)))
        page = page.where(key > cursor)
        above = select(dollars(func.coalesce(func.sum(live.c.cents), 0))).where(key <= cursor)
        above = above.scalar_subquery()
    rows_page = page.order_by(live.c.neg, live.c.account_id).limit(args.first + 1).subquery("page")
    total = select(dollars(func.sum(live.c.cents))).scalar_subquery()
    running = func.sum(rows_page.c.cents).over(
        order_by=(rows_page.c.neg, rows_page.c.account_id), rows=(None, -1)
    )
    before = above + func.coalesce(dollars(running), 0)
    shared = select(
        rows_page.c.account_id,
        rows_page.c.cents,
        func.coalesce(before / func.nullif(total, 0), 0).label("share"),
        rows_page.c.neg,
    ).subquery("shared")
    query = select(
        shared.c.account_id,
        dollars(shared.c.cents),
        shared.c.share,
        _suggested(cutoffs, shared.c.cents, shared.c.share).label("suggested"),
        shared.c.neg,
    ).order_by(shared.c.neg, shared.c.account_id)
    rows = (await session.execute(query)).all()[: args.first + 1]
    visible = rows[: args.first]
    return Page(
        items=[Suggestion(r[0], r[1], r[2], Classification(r[3])) for r in visible],
        cursors=[encode_cursor((r.neg, r.account_id)) for r in visible],
        has_next_page=len(rows) > args.first,
        has_previous_page=args.after is not None,
    )


async def count_live_accounts(session: AsyncSession) -> int:
    query = select(func.count()).select_from(Account).where(Account.archived_at.is_(None))
    return int(await session.scalar(query) or 0)


async def apply_classification(
    session: AsyncSession,
    *,
    actor: Actor,
    account_ids: Sequence[int] | None,
    dry_run: bool,
    cutoffs: Cutoffs,
) -> int:
    """Set every (or each given) account's class to its suggestion; returns how many changed."""
    await custom_plans(session)
    s = suggestions_query(cutoffs)
    targets = select(s.c.account_id, s.c.current, s.c.suggested).where(
        s.c.current.is_distinct_from(s.c.suggested)
    )
    if account_ids is not None:
        await _check_accounts(session, account_ids)
        targets = targets.where(s.c.account_id.in_(account_ids))
    if dry_run:
        return int(await session.scalar(select(func.count()).select_from(targets.subquery())) or 0)
    return await _apply(session, actor, targets.cte("targets"))


async def _check_accounts(session: AsyncSession, account_ids: Sequence[int]) -> None:
    found = await session.scalar(
        select(func.count()).select_from(Account).where(Account.id.in_(set(account_ids)))
    )
    if found != len(set(account_ids)):
        raise NotFoundError("Unknown account in accountIds.", field="accountIds")


async def _apply(session: AsyncSession, actor: Actor, targets: Any) -> int:
    # One statement: update the accounts and write one audit entry per changed account.
    changed = (
        update(Account)
        .where(Account.id == targets.c.account_id)
        .values(
            classification=targets.c.suggested, version=Account.version + 1, updated_at=func.now()
        )
        .returning(
            Account.id,
            targets.c.current,
            targets.c.suggested,
            Account.name,
            Account.external_ref,
            Account.version,
        )
        .cte("changed")
    )
    change = func.jsonb_build_object(
        "classification",
        func.jsonb_build_object("before", changed.c.current, "after", changed.c.suggested),
    )
    audited = (
        insert(AuditEntry)
        .from_select(
            [
                "actor_user_id",
                "actor_token_id",
                "action",
                "entity_type",
                "entity_id",
                "changes",
                "request_id",
            ],
            select(
                literal(actor.user_id),
                literal(actor.token_id),
                literal("account.classify"),
                literal("Account"),
                changed.c.id,
                change,
                literal(actor.request_id),
            ),
        )
        .returning(AuditEntry.id)
        .cte("audited")
    )
    result = await session.scalar(
        select(func.count()).select_from(audited).add_cte(_account_events(changed))
    )
    return int(result or 0)


def _account_events(changed: Any) -> Any:
    """An account.updated event per reclassified account (app.events.account_data's shape)."""
    gid = func.encode(
        func.convert_to(literal("Account:") + cast(changed.c.id, String), "UTF8"), "base64"
    )
    data = func.jsonb_build_object(
        "id",
        gid,
        "name",
        changed.c.name,
        "externalRef",
        changed.c.external_ref,
        "classification",
        changed.c.suggested,
        "version",
        changed.c.version,
        "changed",
        func.jsonb_build_array("classification"),
    )
    rows = select(
        literal(EventType.ACCOUNT_UPDATED.value),
        literal("Account:") + cast(changed.c.id, String),
        changed.c.id,
        data,
    )
    columns = ["type", "object_key", "account_id", "data"]
    return insert(OutboxEvent).from_select(columns, rows).cte("account_events")


# --- contact map ---------------------------------------------------------------------

KEY_ROLES = (BuyingRole.DECISION_MAKER, BuyingRole.INFLUENCER, BuyingRole.COACH)


async def contact_maps(
    session: AsyncSession, keys: Sequence[tuple[int, bool]]
) -> list[dict[BuyingRole, list[Contact]]]:
    """Contacts by buying role per (account, include branches), in one query."""
    roots = select(Account.id.label("root"), Account.id, literal(False).label("deep"))
    tree = roots.where(Account.id.in_({k for k, _ in keys})).cte("tree", recursive=True)
    branch = Account.__table__.alias("branch")
    # UNION, not UNION ALL: a row met again is dropped, so a parent cycle ends the walk.
    tree = tree.union(
        select(tree.c.root, branch.c.id, literal(True)).join(
            branch, (branch.c.parent_id == tree.c.id) & branch.c.archived_at.is_(None)
        )
    )
    query = (
        select(tree.c.root, tree.c.deep, Contact)
        .join(Contact, Contact.account_id == tree.c.id)
        .where(Contact.buying_role.is_not(None))
        .order_by(Contact.name, Contact.id)
    )
    if not any(deep for _, deep in keys):
        query = query.where(~tree.c.deep)
    maps: dict[tuple[int, bool], dict[BuyingRole, list[Contact]]] = {k: {} for k in keys}
    for root, deep, contact in await session.execute(query):
        for include in (True, False) if not deep else (True,):
            found = maps.get((root, include))
            if found is not None:
                found.setdefault(contact.buying_role, []).append(contact)
    return [maps[k] for k in keys]


# --- reviews and renewals ------------------------------------------------------------


def check_days(within_days: int, *, field: str = "withinDays") -> int:
    if not 0 <= within_days <= 3660:
        raise InvalidInputError(f"{field} must be between 0 and 3660.", field=field)
    return within_days


def reviews_due_query(within_days: int) -> Select[Any]:
    horizon = func.now() + func.make_interval(0, 0, 0, check_days(within_days))
    return select(AccountPlan).where(
        AccountPlan.status != PlanStatus.CLOSED, AccountPlan.next_review_at <= horizon
    )


def renewals_due_query(within_days: int) -> Select[Any]:
    today = cast(func.timezone("UTC", func.now()), Date)
    return select(AccountPlan).where(
        AccountPlan.status != PlanStatus.CLOSED,
        AccountPlan.renewal_date >= today,
        AccountPlan.renewal_date <= today + check_days(within_days),
    )
