"""CSV exports in the columns the import reads, streamed a page at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    Text,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts import read as account_read
from app.assignments.service import AssignmentFilter, assignments_query
from app.errors import InvalidInputError
from app.imports.activities import ActivityImporter
from app.imports.assignments import AssignmentImporter
from app.imports.contacts import ContactImporter
from app.imports.export_filters import FilterValues
from app.imports.leads import LeadImporter
from app.kit.actor import Actor
from app.kit.csv_cells import neutralised
from app.leads.service import LeadFilter, leads_query
from app.models.accounts import Account, AccountSource, Contact
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.imports import ImportKind
from app.models.leads import Lead, LeadStatus
from app.models.teams import RecordVisibility
from app.teams import visibility as teams

PAGE_ROWS = 2000
Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Export:
    columns: tuple[str, ...]
    query: Callable[[dict[str, Any]], Rows]
    ids: dict[str, str]  # column -> type name of the id it holds


def _accounts(raw: dict[str, Any]) -> Rows:
    filters = [f for f in account_read.FILTERS if f.exported]
    values = FilterValues(raw, {"search", "includeArchived"} | {f.name for f in filters})
    args = account_read.AccountFilter(
        search=values.string("search"),
        include_archived=values.flag("includeArchived"),
        **{f.key: values.column(f) for f in filters},
    )
    return account_read.export_query(args, now=datetime.now(UTC))


def _contacts(raw: dict[str, Any]) -> Rows:
    values = FilterValues(raw, {"accountId"})
    query = (
        select(
            Contact.id,
            Contact.account_id,
            Account.external_ref,
            *(c.attribute for c in account_read.CONTACT_COLUMNS if c.exported),
        )
        .join(Account, Account.id == Contact.account_id)
        .where(Contact.removed_at.is_(None))
        .order_by(Contact.id)
    )
    account_id = values.id("accountId", "Account")
    return query if account_id is None else query.where(Contact.account_id == account_id)


def _leads(raw: dict[str, Any]) -> Rows:
    values = FilterValues(raw, {"status", "source", "ownerId", "search"})
    args = LeadFilter(
        status=values.enums("status", LeadStatus),
        source=values.enums("source", AccountSource),
        owner_id=values.id("ownerId", "User"),
        search=values.string("search"),
    )
    columns: list[Any] = [
        Lead.id,
        Lead.external_ref,
        Lead.company,
        Lead.contact_name,
        Lead.email,
        Lead.phone,
        Lead.industry,
        Lead.street,
        Lead.city,
        Lead.region,
        Lead.postal_code,
        Lead.country_code,
        Lead.source,
        Lead.status,
        Lead.status_reason,
        Lead.owner_id,
        Lead.attributes,
    ]
    return leads_query(args).with_only_columns(*columns).order_by(Lead.id)


def _activities(raw: dict[str, Any]) -> Rows:
    values = FilterValues(raw, {"accountId", "userId", "kinds", "from", "to"})
    query: Rows = (
        select(
            Activity.id,
            Activity.account_id,
            Account.external_ref,
            Activity.kind,
            Activity.occurred_at,
            Activity.user_id,
            Activity.contact_id,
            Activity.amount,
            Activity.summary,
            Activity.source,
            Activity.external_id,
        )
        .join(Account, Account.id == Activity.account_id)
        .order_by(Activity.id)
    )
    account_id, user_id = values.id("accountId", "Account"), values.id("userId", "User")
    kinds, since, until = (
        values.enums("kinds", ActivityKind),
        values.time("from"),
        values.time("to"),
    )
    if account_id is not None:
        query = query.where(Activity.account_id == account_id)
    if user_id is not None:
        query = query.where(Activity.user_id == user_id)
    if kinds:
        query = query.where(Activity.kind.in_(kinds))
    if since is not None:
        query = query.where(Activity.occurred_at >= since)
    if until is not None:
        query = query.where(Activity.occurred_at < until)
    return query


def _assignments(raw: dict[str, Any]) -> Rows:
    values = FilterValues(raw, {"userId", "managerType", "accountId"})
    manager_types = values.enums("managerType", ManagerType)
    args = AssignmentFilter(
        user_id=values.id("userId", "User"),
        manager_type=manager_types[0] if manager_types else None,
        account_id=values.id("accountId", "Account"),
    )
    query: Rows = (
        assignments_query(args, datetime.now(UTC))
        .with_only_columns(
            Assignment.id,
            Assignment.account_id,
            Account.external_ref,
            Assignment.user_id,
            Assignment.manager_type,
            Assignment.contact_frequency_days,
            Assignment.started_at,
            maintain_column_froms=True,
        )
        .join(Account, Account.id == Assignment.account_id)
        .order_by(Assignment.id)
    )
    return query


EXPORTS: dict[ImportKind, Export] = {
    ImportKind.ACCOUNTS: Export(account_read.CSV_COLUMNS, _accounts, {"id": "Account"}),
    ImportKind.CONTACTS: Export(
        ContactImporter.columns, _contacts, {"id": "Contact", "accountId": "Account"}
    ),
    ImportKind.LEADS: Export(LeadImporter.columns, _leads, {"id": "Lead", "ownerId": "User"}),
    ImportKind.ACTIVITIES: Export(
        ActivityImporter.columns,
        _activities,
        {"id": "Activity", "accountId": "Account", "userId": "User", "contactId": "Contact"},
    ),
    ImportKind.ASSIGNMENTS: Export(
        AssignmentImporter.columns,
        _assignments,
        {"id": "Assignment", "accountId": "Account", "userId": "User"},
    ),
}


@dataclass(frozen=True, slots=True)
class ExportRows:
    """An export's statement: its text cells, then the key it is ordered and paged by."""

    statement: Rows
    key: Any


def export_query(
    kind: ImportKind,
    filter: dict[str, Any] | None,
    *,
    raw_cells: bool = False,
    actor: Actor | None = None,
    visibility: RecordVisibility = RecordVisibility.ALL,
) -> ExportRows:
    """Checked before streaming starts, so a bad filter is a 400, not a broken download.

    Every cell is made text by PostgreSQL (ids as the API's global ids, null as empty, a
    text a spreadsheet would run as a formula quoted unless `raw_cells`: app.kit.csv_cells),
    so Python only hands rows to the csv writer: converting 1.6 million cells one by one in
    Python was most of an export's time. A caller the record visibility applies to (`actor`)
    gets the rows it reads through GraphQL.
    """
    if filter is not None and not isinstance(filter, dict):
        raise InvalidInputError("The filter is a JSON object.", field="filter")
    spec = EXPORTS[kind]
    query = spec.query(filter or {})
    scope = None if actor is None else _scope(kind, actor, visibility)
    if scope is not None:
        query = query.where(scope)
    key = query.selected_columns[0]  # every export's id, which it is ordered by
    cells = [
        _cell(column, spec.ids.get(name), guard=not raw_cells)
        for column, name in zip(query.selected_columns, spec.columns, strict=True)
    ]
    return ExportRows(query.with_only_columns(*cells, key, maintain_column_froms=True), key)


def _scope(kind: ImportKind, actor: Actor, visibility: RecordVisibility) -> Any:
    """Leads follow their owner; every other export's rows join their account."""
    if kind is ImportKind.LEADS:
        return teams.lead_clause(actor, visibility)
    return teams.account_clause(actor, visibility)


# Types whose text never starts like a formula (a negative number stays a number).
_PLAIN = (Integer, Numeric, DateTime, Date, Boolean, SAEnum)


def _cell(column: Any, id_type: str | None, *, guard: bool) -> Any:
    value: Any = cast(column, Text)
    if id_type is not None:  # schema.relay's global id: base64 of "Type:pk"
        value = func.encode(func.convert_to(literal(f"{id_type}:") + value, "UTF8"), "base64")
    value = func.coalesce(value, literal(""))
    if guard and id_type is None and not isinstance(column.type, _PLAIN):
        value = neutralised(value)
    return value


async def stream_csv(
    engine: AsyncEngine, kind: ImportKind, rows: ExportRows, *, page_rows: int = PAGE_ROWS
) -> AsyncIterator[bytes]:
    """The CSV, a page of rows at a time, each read on a pooled connection that goes back
    before the page is sent: a client that reads slowly holds no connection. Pages follow
    the key, so each is its own snapshot: a row added meanwhile may appear, none twice."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORTS[kind].columns)
    after = None
    while True:
        page = await _page(engine, rows, after, page_rows)
        writer.writerows(row[:-1] for row in page)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(page) < page_rows:
            return
        after = page[-1][-1]


async def _page(engine: AsyncEngine, rows: ExportRows, after: Any, size: int) -> list[Any]:
    statement = rows.statement if after is None else rows.statement.where(rows.key > after)
    async with engine.connect() as connection:
        return list(await connection.execute(statement.limit(size)))
