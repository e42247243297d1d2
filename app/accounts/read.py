"""Account's read model, written once: its columns, filters, orders and cursors, and the
columns of its contacts.

The strawberry type and inputs (schema.accounts), the compiled read path
(schema.engine.compiled) and the CSV export (app.imports.export) all read these tables;
a new column is a line here, on its model and on the GraphQL type. The SQL type of each
column decides how the compiled path writes it as JSON and casts its parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, exists, func, literal_column, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from app.accounts.search import matches, rank, search_query
from app.activities import cadence
from app.kit.pagination import ListOrders, Order, SortKey
from app.kit.validation import Checks
from app.models.accounts import Account, AccountSource, Classification, Contact
from app.models.assignments import Assignment, CadenceStatus, ManagerType
from app.models.handoff import Pipeline, PipelineEntry
from app.planning.revenue import last_12_months_of

Attribute = InstrumentedAttribute[Any]


# How a column's written value is checked (and normalised): (checks, field, value) -> value.
Write = Callable[[Checks, str, Any], Any]


def text(max_length: int, *, required: bool = False) -> Write:
    return lambda checks, field, value: checks.text(
        field, value, max_length=max_length, required=required
    )


def whole(low: int, high: int) -> Write:
    return lambda checks, field, value: checks.int_range(field, value, low=low, high=high)


def as_given(checks: Checks, field: str, value: Any) -> Any:
    return value  # an enum: GraphQL and the CSV reader have checked it


def email(checks: Checks, field: str, value: Any) -> Any:
    return checks.email(field, value)


def country(checks: Checks, field: str, value: Any) -> Any:
    return checks.country("address.countryCode", value)


def json_object(checks: Checks, field: str, value: Any) -> Any:
    return checks.json_object(field, value) or {}


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # the GraphQL field, and the CSV header
    attribute: Attribute  # its Python name is the strawberry field's
    exported: bool = True  # a CSV export column, which the import reads back
    within: str | None = None  # the GraphQL object holding it ("address"); None: the type
    write: Write | None = None  # createAccount/updateAccount set it, checked so

    @property
    def key(self) -> str:
        """The Python name: the model's attribute, the service's keyword, the input's field."""
        return self.attribute.key


# In the CSV export's order.
COLUMNS = (
    Column("externalRef", Account.external_ref, write=text(100)),
    Column("name", Account.name, write=text(200, required=True)),
    Column("classification", Account.classification, write=as_given),
    Column("industry", Account.industry, write=text(100)),
    Column("source", Account.source, write=as_given),
    Column("street", Account.street, within="address", write=text(200)),
    Column("city", Account.city, within="address", write=text(100)),
    Column("region", Account.region, within="address", write=text(100)),
    Column("postalCode", Account.postal_code, within="address", write=text(20)),
    Column("countryCode", Account.country_code, within="address", write=country),
    Column("phone", Account.phone, write=text(50)),
    Column("email", Account.email, write=email),
    Column("website", Account.website, write=text(300)),
    Column("employeeCount", Account.employee_count, write=whole(0, 10_000_000)),
    Column("attributes", Account.attributes, write=json_object),
    Column("tags", Account.tags),
    Column("version", Account.version, exported=False),
    Column("archivedAt", Account.archived_at, exported=False),
    Column("createdAt", Account.created_at, exported=False),
    Column("updatedAt", Account.updated_at, exported=False),
)


CONTACT_COLUMNS = (
    Column("name", Contact.name),
    Column("title", Contact.title),
    Column("email", Contact.email),
    Column("phone", Contact.phone),
    Column("buyingRole", Contact.buying_role),
    # Set by upsertContacts; the CSV contact import does not read it back (yet).
    Column("externalRef", Contact.external_ref, exported=False),
    Column("createdAt", Contact.created_at, exported=False),
)

# The root contacts list's orders (its `orderBy`); without one, by name.
CONTACT_ORDERS = ListOrders(
    {"NAME": (Contact.name,), "CREATED_AT": (Contact.created_at,)},
    tiebreak=Contact.id,
    default=Order.of((Contact.name, Contact.id)),
)


class Op(StrEnum):
    EQUALS = "EQUALS"  # column = value
    ANY = "ANY"  # column = one of the values (a list)
    CONTAINS = "CONTAINS"  # an array column holding all of the values
    AFTER = "AFTER"  # column > value
    FOLDED = "FOLDED"  # column = value, ignoring case
    PREFIX = "PREFIX"  # column starts with value, ignoring case (the value comes upper case)


def _same(value: Any) -> Any:
    return value


def _prefix(value: str) -> str:
    return value.strip().upper()


def _tags(values: Sequence[str]) -> list[str]:
    return sorted({t.strip().lower() for t in values})


@dataclass(frozen=True, slots=True)
class Filter:
    """A filter on one column: the input field `name`, the same in GraphQL and exports."""

    name: str
    attribute: Attribute
    op: Op = Op.EQUALS
    normalise: Callable[[Any], Any] = _same
    id_of: str | None = None  # the value is a global id of this type
    blank_is_unset: bool = False  # "" or [] filters nothing
    exported: bool = True  # the CSV export takes it too

    @property
    def key(self) -> str:
        """The field of `AccountFilter` (and of the strawberry input) holding its value."""
        return re.sub(r"(?<!^)(?=[A-Z])", "_", self.name).lower()

    def given(self, value: Any) -> bool:
        return value is not None and (bool(value) or not self.blank_is_unset)

    def condition(self, value: Any) -> ColumnElement[bool]:
        value = self.normalise(value)
        column = self.attribute
        if self.op is Op.ANY:
            return column.in_(value)
        if self.op is Op.CONTAINS:
            return column.contains(value)
        if self.op is Op.AFTER:
            after: ColumnElement[bool] = column > value
            return after
        if self.op is Op.FOLDED:
            folded: ColumnElement[bool] = func.lower(column) == func.lower(value)
            return folded
        if self.op is Op.PREFIX:
            prefix: ColumnElement[bool] = func.starts_with(func.upper(column), value, type_=Boolean)
            return prefix
        equal: ColumnElement[bool] = column == value
        return equal


FILTERS = (
    Filter("classification", Account.classification, Op.ANY, blank_is_unset=True),
    Filter("industry", Account.industry, blank_is_unset=True),
    Filter("countryCode", Account.country_code, normalise=str.upper, blank_is_unset=True),
    Filter("parentId", Account.parent_id, id_of="Account"),
    Filter("source", Account.source, Op.ANY, blank_is_unset=True),
    Filter("tags", Account.tags, Op.CONTAINS, normalise=_tags, blank_is_unset=True),
    Filter("externalRef", Account.external_ref, normalise=str.strip),
    Filter("employeeCountAbove", Account.employee_count, Op.AFTER),
    Filter("region", Account.region, Op.FOLDED, normalise=str.strip, blank_is_unset=True),
    Filter("city", Account.city, Op.FOLDED, normalise=str.strip, blank_is_unset=True),
    Filter(
        "postalCodePrefix", Account.postal_code, Op.PREFIX, normalise=_prefix, blank_is_unset=True
    ),
    Filter("createdAfter", Account.created_at, Op.AFTER, exported=False),
    Filter("updatedAfter", Account.updated_at, Op.AFTER, exported=False),
)
# Filters on other tables, or on search: SQL the compiled path does not write.
JOINED_FILTERS = ("search", "assignedUserId", "managerType", "cadenceStatus", "stage")


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
    employee_count_above: int | None = None
    region: str | None = None
    city: str | None = None
    postal_code_prefix: str | None = None
    assigned_user_id: int | None = None
    manager_type: ManagerType | None = None
    cadence_status: Sequence[CadenceStatus] | None = None
    stage: str | None = None
    pipeline: str = "default"
    created_after: datetime | None = None
    updated_after: datetime | None = None


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
        query = query.where(matches(searched))
    for column_filter in FILTERS:
        value = getattr(filter, column_filter.key)
        if column_filter.given(value):
            query = query.where(column_filter.condition(value))
    for condition in (_assignment_condition(filter, now), _stage_condition(filter)):
        if condition is not None:
            query = query.where(condition)
    return query


class OrderField(StrEnum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    NEXT_CONTACT_DUE = "NEXT_CONTACT_DUE"
    REVENUE_LAST_12_MONTHS = "REVENUE_LAST_12_MONTHS"
    RELEVANCE = "RELEVANCE"  # searches without an order: best match first


def _next_contact_due() -> ColumnElement[Any]:
    soonest = (
        select(func.min(Assignment.next_contact_due))
        .where(Assignment.account_id == Account.id)
        .scalar_subquery()
    )
    # Accounts nobody covers sort last; a real date (not infinity) keeps cursors plain.
    return func.coalesce(soonest, literal_column("'9000-01-01T00:00:00Z'::timestamptz"))


# Orders by a column of the table (the compiled path sorts by these), then computed ones.
ORDER_COLUMNS: dict[OrderField, Attribute] = {
    OrderField.NAME: Account.name,
    OrderField.CREATED_AT: Account.created_at,
    OrderField.UPDATED_AT: Account.updated_at,
}
COMPUTED_ORDERS: dict[OrderField, Callable[[], ColumnElement[Any]]] = {
    OrderField.NEXT_CONTACT_DUE: _next_contact_due,
    OrderField.REVENUE_LAST_12_MONTHS: lambda: last_12_months_of(Account.id),
}


def account_order(field: OrderField | None, descending: bool, *, search: str | None) -> Order:
    """The sort keys of an order, id last. Without one: by rank when searching, else name."""
    searched = search_query(search)
    if field is None:
        field = OrderField.RELEVANCE if searched is not None else OrderField.NAME
    if field is OrderField.RELEVANCE:
        if searched is None:
            field = OrderField.NAME
        else:
            ranked = SortKey(rank(searched), descending=not descending)
            keys = (ranked, SortKey(Account.name, descending), SortKey(Account.id, descending))
            return Order(f"{field.value}:{int(descending)}", keys)
    found = ORDER_COLUMNS.get(field)
    expression = found if found is not None else COMPUTED_ORDERS[field]()
    return Order(
        f"{field.value}:{int(descending)}",
        (SortKey(expression, descending), SortKey(Account.id, descending)),
    )


# An account's branches (service.branch_pages pages them by these columns).
BRANCH_ORDER = Order.of((Account.name, Account.id))

CSV_COLUMNS = ("id", *(c.name for c in COLUMNS if c.exported), "parentExternalRef")


def _cell(attribute: Attribute) -> Any:
    if attribute.type.python_type is list:
        return func.array_to_string(attribute, ",")
    return attribute


def export_query(filter: AccountFilter, *, now: datetime) -> Select[Any]:
    """The rows of the CSV export, in `CSV_COLUMNS` (the parent by its external ref)."""
    parent = aliased(Account)
    cells = [Account.id, *(_cell(c.attribute) for c in COLUMNS if c.exported)]
    return (
        accounts_query(filter, now=now, columns=[*cells, parent.external_ref])
        .outerjoin(parent, parent.id == Account.parent_id)
        .order_by(Account.id)
    )
