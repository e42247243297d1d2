"""The cursor codec: every keyset cursor is one JSON array, sealed.

The array holds the name of the order it belongs to, then the sort key of its row (never
an offset). Values that JSON lacks are tagged objects: `{"dt": iso}` for a timestamp,
`{"d": iso}` for a date, `{"n": text}` for a Decimal.

Cursors are opaque (DESIGN: sorting by a value is reading it): the array is sealed with
AES-SIV (RFC 5297), authenticated encryption, and sent as URL-safe base64 without padding.
A client reads no sort value in it and cannot forge or alter one. SIV is deterministic, so
one row's cursor is the same bytes on both read paths: the compiled path writes the array
in SQL between two MARK characters (schema.engine.compiled.sqltext.cursor) and
`seal_marked` seals it before the answer leaves.

The key is the server's (app.kit.keys, installed by `use_key` when the server starts); a
process that never installs one seals with a random key of its own.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from app.errors import InvalidCursorError

Key = tuple[Any, ...]
MAX_CURSOR = 2000  # characters; ours are a few dozen
KEY_BYTES = 64  # AES-256-SIV
# Stands around a cursor's unsealed array in the compiled path's JSON text: every text value
# there is escaped (to_json), so a raw control character is ours.
MARK = "\x01"


class _Sealer:
    cipher: AESSIV = AESSIV(os.urandom(KEY_BYTES))


def use_key(key: bytes) -> None:
    """Seal and open cursors with this key from now on (every worker must use the same)."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a cursor key has {KEY_BYTES} bytes")
    _Sealer.cipher = AESSIV(key)


def seal(plain: bytes) -> str:
    sealed = _Sealer.cipher.encrypt(plain, None)
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()


def unseal(cursor: str) -> bytes:
    """The array's bytes; ValueError when the cursor is not one this server sealed."""
    if len(cursor) > MAX_CURSOR or not cursor.isascii():
        raise ValueError("not a cursor")
    try:
        sealed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return _Sealer.cipher.decrypt(sealed, None)
    except (binascii.Error, InvalidTag) as error:
        raise ValueError("not a cursor") from error


def seal_marked(text: str) -> str:
    """The compiled path's JSON text with each marked array sealed in place."""
    if MARK not in text:
        return text
    parts = text.split(MARK)  # the arrays are the odd parts: between a MARK and the next
    parts[1::2] = [seal(array.encode()) for array in parts[1::2]]
    return "".join(parts)


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
    return seal(orjson.dumps([_encode_value(v) for v in key]))


def decode_cursor(cursor: str, columns: Sequence[Any], *, field: str = "after") -> Key:
    """The key a cursor holds, checked against the types of the order columns.

    A cursor is client input: one this server did not seal (forged, altered, of another
    server), of the wrong shape, or holding values of the wrong type (which PostgreSQL
    would refuse mid-query), is INVALID_CURSOR.
    """
    try:
        values = orjson.loads(unseal(cursor))
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        key = tuple(_decode_value(v) for v in values)
    except (orjson.JSONDecodeError, ValueError, TypeError, ArithmeticError):
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
