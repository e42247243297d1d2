"""The accounts list: filters, ranked full-text search and the sort orders a frontend offers.

Search is PostgreSQL full-text search (configuration `simple`, every word a prefix): the
embedded server's wheel ships no pg_trgm. Accounts carry a generated, GIN-indexed vector of
name and external ref (weight A) and website (B); contacts one of name and email. A match
on a contact ranks half as much as one on the account itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, literal_column, select, union
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.types import Float

from app.activities import cadence
from app.kit.keyset import Order, SortKey
from app.models.accounts import Account, AccountSource, Classification, Contact
from app.models.assignments import Assignment, CadenceStatus, ManagerType
from app.models.handoff import Pipeline, PipelineEntry
from app.planning.revenue import last_12_months_of

MAX_SEARCH_WORDS = 8
_WORD = re.compile(r"\w+")
_SIMPLE = literal_column("'simple'", REGCONFIG)


@dataclass(frozen=True, slots=True)
class AccountFilter:
    search: str | None = None
    classification: Sequence[Classification] | None = None
    industry: str | None = None
    country_code: str | None = None
    parent_id: int | None = None
    include_archived: bool = False
    source: Sequence[AccountSource] | None = None
    tags: Sequence[str] | None = None
    external_ref: str | None = None
    assigned_user_id: int | None = None
    manager_type: ManagerType | None = None
    cadence_status: Sequence[CadenceStatus] | None = None
    stage: str | None = None
    pipeline: str = "default"
    created_after: datetime | None = None
    updated_after: datetime | None = None


class OrderField(StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    NEXT_CONTACT_DUE = "NEXT_CONTACT_DUE"
    REVENUE_LAST_12_MONTHS = "REVENUE_LAST_12_MONTHS"
    RELEVANCE = "RELEVANCE"  # searches without an order: best match first


def search_query(search: str | None) -> ColumnElement[Any] | None:
    """`word:* & word:*` for the words of `search`, or None when it has none."""
    words = _WORD.findall((search or "").lower())[:MAX_SEARCH_WORDS]
    if not words:
        return None
    return func.to_tsquery(_SIMPLE, " & ".join(f"{w}:*" for w in words))


def _matches(query: ColumnElement[Any]) -> ColumnElement[bool]:
    # A union of two GIN index scans; an OR across the two tables would read every account.
    ids = union(
        select(Account.id).where(Account.search_vector.op("@@")(query)),
        select(Contact.account_id).where(
            Contact.search_vector.op("@@")(query), Contact.removed_at.is_(None)
        ),
    )
    return Account.id.in_(ids)


def _rank(query: ColumnElement[Any]) -> ColumnElement[float]:
    on_contacts = (
        select(func.max(func.ts_rank(Contact.search_vector, query)))
        .where(
            Contact.account_id == Account.id,
            Contact.removed_at.is_(None),
            Contact.search_vector.op("@@")(query),
        )
        .scalar_subquery()
    )
    rank = func.ts_rank(Account.search_vector, query) + func.coalesce(on_contacts, 0) * 0.5
    return rank.cast(Float)


def _assignment_condition(filter: AccountFilter, now: datetime) -> ColumnElement[bool] | None:
    wanted: list[ColumnElement[bool]] = []
    if filter.assigned_user_id is not None:
        wanted.append(Assignment.user_id == filter.assigned_user_id)
    if filter.manager_type is not None:
        wanted.append(Assignment.manager_type == filter.manager_type)
    if filter.cadence_status:
        wanted.append(cadence.status_condition(filter.cadence_status, now))
    if not wanted:
        return None
    return exists().where(Assignment.account_id == Account.id, *wanted)


def _stage_condition(filter: AccountFilter) -> ColumnElement[bool] | None:
    if filter.stage is None:
        return None
    return exists().where(
        PipelineEntry.account_id == Account.id,
        PipelineEntry.stage == filter.stage,
        PipelineEntry.pipeline_id
        == select(Pipeline.id).where(Pipeline.key == filter.pipeline).scalar_subquery(),
    )


def accounts_query(filter: AccountFilter, *, now: datetime, columns: Sequence[Any]) -> Select[Any]:
    query = select(*columns)
    if not filter.include_archived:
        query = query.where(Account.archived_at.is_(None))
    searched = search_query(filter.search)
    if searched is not None:
        query = query.where(_matches(searched))
    if filter.classification:
        query = query.where(Account.classification.in_(filter.classification))
    if filter.industry:
        query = query.where(Account.industry == filter.industry)
    if filter.country_code:
        query = query.where(Account.country_code == filter.country_code.upper())
    if filter.parent_id is not None:
        query = query.where(Account.parent_id == filter.parent_id)
    if filter.source:
        query = query.where(Account.source.in_(filter.source))
    if filter.tags:
        tags = sorted({t.strip().lower() for t in filter.tags})
        query = query.where(Account.tags.contains(tags))
    if filter.external_ref is not None:
        query = query.where(Account.external_ref == filter.external_ref.strip())
    if filter.created_after is not None:
        query = query.where(Account.created_at > filter.created_after)
    if filter.updated_after is not None:
        query = query.where(Account.updated_at > filter.updated_after)
    for condition in (_assignment_condition(filter, now), _stage_condition(filter)):
        if condition is not None:
            query = query.where(condition)
    return query


def _next_contact_due() -> ColumnElement[Any]:
    soonest = (
        select(func.min(Assignment.next_contact_due))
        .where(Assignment.account_id == Account.id)
        .scalar_subquery()
    )
    # Accounts nobody covers sort last; a real date (not infinity) keeps cursors plain.
    return func.coalesce(soonest, literal_column("'9000-01-01T00:00:00Z'::timestamptz"))


def account_order(field: OrderField | None, descending: bool, *, search: str | None) -> Order:
    """The sort keys of an order, id last. Without one: by rank when searching, else name."""
    searched = search_query(search)
    if field is None:
        field = OrderField.RELEVANCE if searched is not None else OrderField.NAME
    if field is OrderField.RELEVANCE:
        if searched is None:
            field = OrderField.NAME
        else:
            rank = SortKey(_rank(searched), descending=not descending)
            keys = (rank, SortKey(Account.name, descending), SortKey(Account.id, descending))
            return Order(f"{field.value}:{int(descending)}", keys)
    expression: Any = {
        OrderField.NAME: Account.name,
        OrderField.CREATED_AT: Account.created_at,
        OrderField.UPDATED_AT: Account.updated_at,
        OrderField.NEXT_CONTACT_DUE: _next_contact_due(),
        OrderField.REVENUE_LAST_12_MONTHS: last_12_months_of(Account.id),
    }[field]
    return Order(
        f"{field.value}:{int(descending)}",
        (SortKey(expression, descending), SortKey(Account.id, descending)),
    )
