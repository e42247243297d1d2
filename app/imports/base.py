"""What every kind of import provides: its columns, a row check and a batch write."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError
from app.imports.csvfile import Row, RowError
from app.imports.values import CellError
from app.kit.actor import Actor


@dataclass(slots=True)
class Item:
    row: int
    data: Any


@dataclass(slots=True)
class BatchResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def add(self, other: BatchResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors.extend(other.errors)


class Importer(Protocol):
    columns: tuple[str, ...]  # CSV names (the GraphQL input fields), in export order
    required: frozenset[str]

    def clean(self, row: Row) -> Any:
        """The row's typed values; raises CellError or AppError (with a field) when bad."""

    def key(self, data: Any) -> Hashable | None:
        """What must be unique within one file (e.g. externalRef); None when nothing."""

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult: ...


def column_of(
    field: str | None, columns: Sequence[str], renames: Mapping[str, str] | None = None
) -> str | None:
    """An API error's field (`address.countryCode`, `members[0].userId`) as a CSV column;
    `renames` maps a service's field to the column holding it (`parentId` to
    `parentExternalRef`)."""
    if field is None:
        return None
    name = field.rsplit(".", 1)[-1]
    name = (renames or {}).get(name, name)
    lowered = {c.lower(): c for c in columns}
    return lowered.get(name.lower(), name)


def row_errors(
    row: int, error: Exception, columns: Sequence[str], renames: Mapping[str, str] | None = None
) -> list[RowError]:
    if isinstance(error, CellError):
        return [RowError(row, error.column, error.code, error.message)]
    assert isinstance(error, AppError)
    return [RowError(row, column_of(e.field, columns, renames), e.code, e.message) for e in error]


def known_columns(columns: Sequence[str]) -> dict[str, str]:
    return {c.lower(): c for c in columns}
