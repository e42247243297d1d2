"""The cursor codec: every keyset cursor is the URL-safe base64 of one JSON array.

The array holds the name of the order it belongs to, then the sort key of its row (never
an offset). Values that JSON lacks are tagged objects: `{"dt": iso}` for a timestamp,
`{"d": iso}` for a date, `{"n": text}` for a Decimal. The compiled read path writes the
same bytes in SQL (schema.engine.compiled.sqltext.cursor_value): change both together.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson

from app.errors import InvalidCursorError

Key = tuple[Any, ...]
MAX_CURSOR = 2000  # characters; ours are a few dozen


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, Enum):
        return value.value
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "dt" in value:
            return datetime.fromisoformat(value["dt"])
        if "d" in value:
            return date.fromisoformat(value["d"])
        if "n" in value:
            return Decimal(value["n"])
    return value


def encode_cursor(key: Key) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([_encode_value(v) for v in key])).decode()


def decode_cursor(cursor: str, columns: Sequence[Any], *, field: str = "after") -> Key:
    """The key a cursor holds, checked against the types of the order columns.

    A cursor is client input: one of the wrong shape, or holding values of the wrong type
    (which PostgreSQL would refuse mid-query), is INVALID_CURSOR.
    """
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        key = tuple(_decode_value(v) for v in values)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError, ArithmeticError):
        raise InvalidCursorError("Malformed cursor.", field=field) from None
    if not all(_fits(value, column) for value, column in zip(key, columns, strict=True)):
        raise InvalidCursorError("Malformed cursor.", field=field)
    return key


def _fits(value: Any, column: Any) -> bool:
    if value is None:
        return True
    try:
        expected = column.type.python_type
    except (AttributeError, NotImplementedError):
        return True
    if issubclass(expected, Enum):
        return value in {m.value for m in expected}
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool) and _bigint(value)
    if expected is str:
        return isinstance(value, str) and "\x00" not in value
    if expected is datetime:
        if isinstance(value, datetime) and value.tzinfo is None and value.year == 9999:
            return True  # asyncpg's 'infinity' (datetime.max): a sort key for "never"
        return isinstance(value, datetime) and value.tzinfo is not None and 2 <= value.year < 9999
    if expected is Decimal:
        return isinstance(value, Decimal) and value.is_finite()
    return isinstance(value, expected)


def _bigint(value: int) -> bool:
    return -(2**63) <= value < 2**63
