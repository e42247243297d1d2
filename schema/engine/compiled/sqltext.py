"""SQL expressions that write a value as the JSON text the Python path would send.

Every expression here is non-null: a SQL NULL becomes JSON `null`. Texts go through
`to_json`, which escapes exactly what orjson escapes (quote, backslash, control
characters as `\\u00XX`); the functions of migration 0013 cover times, floats and JSON.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import orjson

from app.kit.cursor import MARK


def literal(value: str) -> str:
    """A SQL string literal (standard_conforming_strings is on: only quotes double)."""
    return "'" + value.replace("'", "''") + "'"


def json_literal(value: object) -> str:
    """A constant's JSON text as a SQL literal, e.g. a response key or a __typename."""
    return literal(orjson.dumps(value).decode())


def text(expression: str) -> str:
    """String, ID, enum (stored as its name), Int and Boolean columns; arrays of strings."""
    return f"COALESCE(to_json({expression})::text, 'null')"


def enum(expression: str) -> str:
    return f"COALESCE(to_json(({expression})::text)::text, 'null')"


def time(expression: str) -> str:
    return f"COALESCE(af_json_time({expression}), 'null')"


def decimal(expression: str) -> str:
    """strawberry's Decimal is `str(value)`: PostgreSQL's numeric text, quoted."""
    return f"COALESCE(to_json(({expression})::text)::text, 'null')"


def float_(expression: str) -> str:
    return f"COALESCE(af_json_float({expression}), 'null')"


def json(expression: str) -> str:
    return f"COALESCE(af_json({expression}), 'null')"


def boolean(expression: str) -> str:
    return f"CASE WHEN {expression} THEN 'true' ELSE 'false' END"


def global_id(type_name: str, pk: str) -> str:
    """`relay.to_global_id`: base64 of "Type:pk", short enough for one line of base64."""
    return f"('\"' || encode(convert_to('{type_name}:' || {pk}, 'UTF8'), 'base64') || '\"')"


def json_array(items: list[str]) -> str:
    """The JSON text of an array, given the JSON text of each item."""
    return "'[' || " + " || ',' || ".join(items) + " || ']'"


def cursor_value(expression: str, python_type: type) -> str:
    """A sort key's JSON in a cursor, as `app.kit.cursor` tags it by its Python type."""
    if issubclass(python_type, datetime):
        value = f"'{{\"dt\":' || af_json_time({expression}) || '}}'"
    elif issubclass(python_type, Enum):
        value = f"to_json(({expression})::text)::text"
    elif issubclass(python_type, str):
        value = f"to_json({expression})::text"
    elif issubclass(python_type, int):
        value = f"({expression})::text"
    else:
        raise NotImplementedError(f"a cursor value of {python_type.__name__}")
    return f"COALESCE({value}, 'null')"


CASTS = {str: "text", int: "bigint", datetime: "timestamptz"}


def cast(python_type: type) -> str:
    """The type a parameter holding a value of this Python type is cast to."""
    if issubclass(python_type, Enum):
        return "text"
    return CASTS[python_type]


def cursor(json_array: str) -> str:
    """`app.kit.cursor.encode_cursor`'s array between two MARKs: the answer's text has each
    sealed (`seal_marked`) before it leaves, as PostgreSQL has not the key."""
    mark = f"chr({ord(MARK)})"
    return f"({mark} || {json_array} || {mark})"


class Concat:
    """Pieces of JSON text joined with `||`; neighbouring constants merge into one literal."""

    def __init__(self) -> None:
        self.parts: list[tuple[bool, str]] = []  # (is constant, text)

    def const(self, value: str) -> Concat:
        if self.parts and self.parts[-1][0]:
            self.parts[-1] = (True, self.parts[-1][1] + value)
        else:
            self.parts.append((True, value))
        return self

    def expr(self, sql: str) -> Concat:
        self.parts.append((False, sql))
        return self

    def sql(self) -> str:
        return " || ".join(literal(t) if constant else t for constant, t in self.parts)
