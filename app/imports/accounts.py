"""Accounts from CSV, a batch at a time: rows with an externalRef go through
upsertAccounts' service (app.accounts.upsert), the others a row at a time through the
services of createAccount and updateAccount (app.imports.account_rows). Only the file's
columns are set, and a row that changes nothing leaves the account alone.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from enum import Enum
from typing import Any

from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import read as account_read
from app.accounts import tags as account_tags
from app.accounts.service import clean_account_fields
from app.accounts.upsert import UNSET, UpsertItem, upsert_accounts
from app.imports import account_rows
from app.imports.account_rows import AccountRow
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import Row
from app.imports.values import (
    CellError,
    parse_country,
    parse_enum,
    parse_id,
    parse_int,
    parse_json_object,
)
from app.kit.actor import Actor
from app.kit.validation import Checks

# The export's columns (app.accounts.read), so every export reads back; a column this
# import does not write (none yet) is accepted and left alone.
COLUMNS = account_read.CSV_COLUMNS


def _cell(column: account_read.Column, value: str | None) -> Any:
    """A CSV cell as the value its column's writer takes, by the column's Python type."""
    if isinstance(column.attribute.type, JSONB):
        return parse_json_object(value, column.name)
    if column.name == "countryCode":
        return parse_country(value)
    kind = column.attribute.type.python_type
    if issubclass(kind, Enum):
        return parse_enum(value, kind, column.name)
    if issubclass(kind, int):
        return parse_int(value, column.name)
    return value


# The columns the file may set: the read model's written ones (createAccount's fields).
_WRITTEN = tuple(c for c in account_read.COLUMNS if c.write is not None)


class AccountImporter:
    columns: tuple[str, ...] = COLUMNS
    required: frozenset[str] = frozenset({"name"})

    def clean(self, row: Row) -> AccountRow:
        values = row.values
        # Only the file's columns are set: a column the file lacks is left as it is.
        fields = {c.key: _cell(c, values[c.name]) for c in _WRITTEN if c.name in values}
        tags = _tags(values["tags"]) if "tags" in values else None
        parent_ref = values.get("parentExternalRef")
        parent_ref = parent_ref.strip() if parent_ref else None
        clean = clean_account_fields(fields)
        if parent_ref and parent_ref == clean.get("external_ref"):
            raise CellError("parentExternalRef", "An account cannot be its own parent.")
        if "parentExternalRef" in values:
            clean["parent_id"] = None  # resolved at write time
        if tags is not None:
            clean["tags"] = tags
        return AccountRow(parse_id(values.get("id"), "Account", "id"), clean, parent_ref)

    def key(self, data: AccountRow) -> Hashable | None:
        ref = data.fields.get("external_ref")
        return None if ref is None else ("externalRef", ref)

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        result = BatchResult()
        by_ref = [i for i in items if i.data.id is None and i.data.fields.get("external_ref")]
        if by_ref:
            await self._upsert(session, actor, by_ref, result)
        others = [
            i for i in items if i.data.id is not None or not i.data.fields.get("external_ref")
        ]
        await account_rows.write_rows(session, actor, others, COLUMNS, result)
        return result

    async def _upsert(
        self, session: AsyncSession, actor: Actor, items: list[Item], result: BatchResult
    ) -> None:
        batch = [
            UpsertItem(
                external_ref=i.data.fields["external_ref"],
                fields={
                    k: v
                    for k, v in i.data.fields.items()
                    if k not in ("external_ref", "parent_id", "tags")
                },
                parent_external_ref=i.data.parent_ref if "parent_id" in i.data.fields else UNSET,
                tags=i.data.fields.get("tags"),
            )
            for i in items
        ]
        done = await upsert_accounts(session, actor=actor, items=batch, max_batch=len(batch))
        result.created += done.created_count
        result.updated += done.updated_count
        result.unchanged += done.unchanged_count
        for index, errors in done.rejected:
            for error in errors:
                result.errors.extend(row_errors(items[index].row, error, COLUMNS))


def _tags(value: str | None) -> list[str]:
    """Tags in one cell, separated by commas (as the export writes them)."""
    checks = Checks()
    tags = account_tags.normalise(checks, "tags", (value or "").split(",") if value else [])
    account_tags.check_count(checks, "tags", tags)
    checks.raise_if_any()
    return tags
