"""CSV exports in the columns the import reads, streamed through a server-side cursor."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import Select, Text, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts import read as account_read
from app.assignments.service import AssignmentFilter, assignments_query
from app.errors import InvalidInputError
from app.imports.activities import ActivityImporter
from app.imports.assignments import AssignmentImporter
from app.imports.contacts import ContactImporter
from app.imports.leads import LeadImporter
from app.imports.values import CellError, parse_datetime, parse_id
from app.leads.service import LeadFilter, leads_query
from app.models.accounts import Account, AccountSource, Contact
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.imports import ImportKind
from app.models.leads import Lead, LeadStatus

CHUNK_ROWS = 2000
Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Export:
    columns: tuple[str, ...]
    query: Callable[[dict[str, Any]], Rows]
    ids: dict[str, str]  # column -> type name of the id it holds


def _filter_keys(raw: dict[str, Any], allowed: set[str]) -> None:
    for key in raw:
        if key not in allowed:
            raise InvalidInputError(f"Unknown filter {key!r}.", field=f"filter.{key}")


def _id(raw: dict[str, Any], key: str, type_name: str) -> int | None:
    try:
        return parse_id(raw.get(key), type_name, f"filter.{key}")
    except CellError as error:
        raise InvalidInputError(error.message, field=error.column) from None


def _enums(raw: dict[str, Any], key: str, enum: Any) -> list[Any] | None:
    values = raw.get(key)
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    try:
        return [enum(v) for v in values]
    except (ValueError, TypeError):
        raise InvalidInputError(f"Unknown value in {key}.", field=f"filter.{key}") from None


def _filter_value(raw: dict[str, Any], column_filter: account_read.Filter) -> Any:
    if column_filter.id_of is not None:
        return _id(raw, column_filter.name, column_filter.id_of)
    python_type = column_filter.attribute.type.python_type
    if column_filter.op is account_read.Op.ANY and issubclass(python_type, Enum):
        return _enums(raw, column_filter.name, python_type)
    return raw.get(column_filter.name)


def _accounts(raw: dict[str, Any]) -> Rows:
    filters = [f for f in account_read.FILTERS if f.exported]
    _filter_keys(raw, {"search", "includeArchived"} | {f.name for f in filters})
    args = account_read.AccountFilter(
        search=raw.get("search"),
        include_archived=bool(raw.get("includeArchived")),
        **{f.key: _filter_value(raw, f) for f in filters},
    )
    return account_read.export_query(args, now=datetime.now(UTC))


def _contacts(raw: dict[str, Any]) -> Rows:
    _filter_keys(raw, {"accountId"})
    query = (
        select(
            Contact.id,
            Contact.account_id,
            Account.external_ref,
            *(c.attribute for c in account_read.CONTACT_COLUMNS if c.exported),
        )
        .join(Account, Account.id == Contact.account_id)
        .order_by(Contact.id)
    )
    account_id = _id(raw, "accountId", "Account")
    return query if account_id is None else query.where(Contact.account_id == account_id)


def _leads(raw: dict[str, Any]) -> Rows:
    _filter_keys(raw, {"status", "source", "ownerId", "search"})
    args = LeadFilter(
        status=_enums(raw, "status", LeadStatus),
        source=_enums(raw, "source", AccountSource),
        owner_id=_id(raw, "ownerId", "User"),
        search=raw.get("search"),
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


def _time(raw: dict[str, Any], key: str) -> datetime | None:
    try:
        return parse_datetime(raw.get(key), f"filter.{key}")
    except CellError as error:
        raise InvalidInputError(error.message, field=error.column) from None


def _activities(raw: dict[str, Any]) -> Rows:
    _filter_keys(raw, {"accountId", "userId", "kinds", "from", "to"})
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
    account_id, user_id = _id(raw, "accountId", "Account"), _id(raw, "userId", "User")
    kinds, since, until = _enums(raw, "kinds", ActivityKind), _time(raw, "from"), _time(raw, "to")
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
    _filter_keys(raw, {"userId", "managerType", "accountId"})
    manager_types = _enums(raw, "managerType", ManagerType)
    args = AssignmentFilter(
        user_id=_id(raw, "userId", "User"),
        manager_type=manager_types[0] if manager_types else None,
        account_id=_id(raw, "accountId", "Account"),
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


def export_query(kind: ImportKind, filter: dict[str, Any] | None) -> Rows:
    """Checked before streaming starts, so a bad filter is a 400, not a broken download.

    Every cell is made text by PostgreSQL (ids as the API's global ids, null as empty), so
    Python only hands rows to the csv writer: converting 1.6 million cells one by one in
    Python was most of an export's time.
    """
    if filter is not None and not isinstance(filter, dict):
        raise InvalidInputError("The filter is a JSON object.", field="filter")
    spec = EXPORTS[kind]
    query = spec.query(filter or {})
    cells = [
        _text(column, spec.ids.get(name))
        for column, name in zip(query.selected_columns, spec.columns, strict=True)
    ]
    return query.with_only_columns(*cells, maintain_column_froms=True)


def _text(column: Any, id_type: str | None) -> Any:
    value: Any = cast(column, Text)
    if id_type is not None:  # schema.relay's global id: base64 of "Type:pk"
        value = func.encode(func.convert_to(literal(f"{id_type}:") + value, "UTF8"), "base64")
    return func.coalesce(value, literal(""))


async def stream_csv(engine: AsyncEngine, kind: ImportKind, query: Rows) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORTS[kind].columns)
    async with engine.connect() as connection, connection.begin():
        result = await connection.stream(query.execution_options(yield_per=CHUNK_ROWS))
        async for rows in result.partitions(CHUNK_ROWS):
            writer.writerows(rows)
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()
