"""The `filter` of a CSV export, read from client JSON: each value of the type its filter
takes, or INVALID_INPUT naming `filter.<key>` (a 400 before the download starts)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from app.accounts import read as account_read
from app.errors import InvalidInputError
from app.imports.values import CellError, parse_datetime, parse_id

MAX_ID = 2**63 - 1  # bigint
MAX_INTEGER = 2**31 - 1


class FilterValues:
    def __init__(self, raw: dict[str, Any], allowed: set[str]) -> None:
        for key in raw:
            if key not in allowed:
                raise InvalidInputError(f"Unknown filter {key!r}.", field=f"filter.{key}")
        self.raw = raw

    def string(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is not None and not isinstance(value, str):
            raise _refused(key, "a string")
        if value is not None and "\x00" in value:
            raise _refused(key, "text without NUL characters")
        return value

    def strings(self, key: str) -> list[str] | None:
        """A string or a list of strings."""
        value = self.raw.get(key)
        if value is None:
            return None
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise _refused(key, "a string or a list of strings")
        if any("\x00" in v for v in values):
            raise _refused(key, "text without NUL characters")
        return values

    def number(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is not None and (type(value) is not int or abs(value) > MAX_INTEGER):
            raise _refused(key, f"an integer between -{MAX_INTEGER} and {MAX_INTEGER}")
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key, False)
        if not isinstance(value, bool):
            raise _refused(key, "true or false")
        return value

    def id(self, key: str, type_name: str) -> int | None:
        try:
            found = parse_id(self.string(key), type_name, f"filter.{key}")
        except CellError as error:
            raise InvalidInputError(error.message, field=error.column) from None
        if found is not None and not 0 < found <= MAX_ID:
            raise _refused(key, f"the id of a {type_name}")
        return found

    def enums(self, key: str, enum: Any) -> list[Any] | None:
        values = self.strings(key)
        if values is None:
            return None
        try:
            return [enum(v) for v in values]
        except ValueError:
            raise InvalidInputError(f"Unknown value in {key}.", field=f"filter.{key}") from None

    def time(self, key: str) -> datetime | None:
        try:
            return parse_datetime(self.string(key), f"filter.{key}")
        except CellError as error:
            raise InvalidInputError(error.message, field=error.column) from None

    def column(self, column_filter: account_read.Filter) -> Any:
        """The value of one of the read model's column filters, by the column's type."""
        name = column_filter.name
        if column_filter.id_of is not None:
            return self.id(name, column_filter.id_of)
        python_type = column_filter.attribute.type.python_type
        if issubclass(python_type, Enum):
            return self.enums(name, python_type)
        if python_type is list:
            return self.strings(name)
        if python_type is int:
            return self.number(name)
        return self.string(name)


def _refused(key: str, wanted: str) -> InvalidInputError:
    return InvalidInputError(f"filter.{key} must be {wanted}.", field=f"filter.{key}")
