"""CSV cell values to typed values, each failure naming its column."""

from __future__ import annotations

import base64
import binascii
import functools
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

import orjson
import pycountry

E = TypeVar("E", bound=StrEnum)


class CellError(Exception):
    def __init__(self, column: str, message: str, code: str = "INVALID_VALUE") -> None:
        super().__init__(message)
        self.column = column
        self.message = message
        self.code = code


def parse_id(value: str | None, type_name: str, column: str) -> int | None:
    if value is None:
        return None
    try:
        found, _, raw = base64.b64decode(value, validate=True).decode().partition(":")
        if found == type_name:
            return int(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise CellError(column, f"{column} is not the id of a {type_name}.")


def parse_enum(value: str | None, enum: type[E], column: str) -> E | None:
    if value is None:
        return None
    try:
        return enum(value.strip().upper())
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise CellError(column, f"{column} must be one of {allowed}.") from None


def parse_json_object(value: str | None, column: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise CellError(column, f"{column} is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise CellError(column, f"{column} must be a JSON object.")
    return parsed


def parse_int(value: str | None, column: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        raise CellError(column, f"{column} must be a whole number.") from None


def parse_decimal(value: str | None, column: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        raise CellError(column, f"{column} must be a number.") from None


def parse_datetime(value: str | None, column: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CellError(column, f"{column} must be an ISO-8601 date and time.") from None
    if parsed.tzinfo is None:
        raise CellError(column, f"{column} needs a zone (Z or an offset).")
    return parsed


@functools.lru_cache(maxsize=512)
def _country_code(text: str) -> str | None:
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None


def parse_country(value: str | None) -> str | None:
    """A country as its ISO 3166 alpha-2 code, from that code, the alpha-3 code or an English
    name ("de", "DEU", "Germany": "DE"), in any case. Any other value is returned as it is,
    for the column's check to refuse as before."""
    if value is None:
        return None
    text = value.strip()
    found = None if text.isdigit() else _country_code(text)  # numeric codes are no names
    return value if found is None else found
