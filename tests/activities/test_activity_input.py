"""The LogActivityInput loop (schema/activity_input.py) against graphql-core's coercion."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from graphql import Undefined, coerce_input_value
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.types.base import get_object_definition
from strawberry.utils.str_converters import to_camel_case

from app.errors import AppError
from schema import schema
from schema.activities import LogActivityInput, _parse_item, item_from_coerced
from schema.activity_input import ActivityInputCoercer

COERCER = ActivityInputCoercer(schema._schema)
NAMES = sorted(COERCER.names)
FIELDS = get_object_definition(LogActivityInput, strict=True).fields
ID_LIKE = ["QWNjb3VudDox", "VXNlcjox", "not-an-id", "QWNjb3VudDo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"]
TEXTS = [
    "CALL_OUTBOUND",
    "NOTE",
    "call_outbound",
    "2026-03-01T09:00:00+00:00",
    "2026-03-01T09:00:00Z",
    "2026-03-01T09:00:00",
    "2026-13-01T09:00:00Z",
    "QWNjb3VudDox",
    "12.50",
    "-0.01",
    "NaN",
    "1e999999999",
    " 7 ",
    "",
    "x\x00y",
]
VALUES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.sampled_from(TEXTS),
    st.text(max_size=8),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.sampled_from(TEXTS), max_size=2),
    st.dictionaries(st.sampled_from(["a", "kind"]), st.sampled_from(TEXTS), max_size=2),
)
ITEMS = st.dictionaries(st.sampled_from([*NAMES, "colour"]), VALUES, max_size=8).map(
    lambda d: {"kind": "VISIT", "occurredAt": "2026-03-01T09:00:00Z", **d}
)


def graphql_core(value: Any) -> Any:
    found = coerce_input_value(value, COERCER.type)
    return None if found is Undefined else found


def shown(coerced: dict[str, Any] | None) -> dict[str, str] | None:
    """Comparable also where a value is not equal to itself (Decimal NaN)."""
    return None if coerced is None else {k: repr(v) for k, v in coerced.items()}


@settings(max_examples=2_000, deadline=None)
@given(st.one_of(ITEMS, VALUES))
def test_the_loop_answers_as_graphql_core_or_not_at_all(value: Any) -> None:
    fast = COERCER.fast(value)
    expected = graphql_core(value)
    if fast is not None:
        assert shown(fast) == shown(expected)
    assert shown(COERCER.coerce(value)) == shown(expected)
    assert (expected is None) == bool(COERCER.errors(value))


def test_ordinary_items_take_the_loop() -> None:
    items: list[dict[str, Any]] = [
        {"kind": "INVOICE", "occurredAt": "2026-03-01T09:00:00+02:00", "amount": "12.50"},
        {
            "kind": "CALL_OUTBOUND",
            "occurredAt": "2026-03-01T09:00:00Z",
            "accountId": "QWNjb3VudDox",
            "userEmail": "a@b.io",
            "contactId": None,
            "summary": "hello",
            "source": "erp",
            "externalId": "E-1",
        },
        {"kind": "TEXT", "occurredAt": "2026-03-01T09:00:00Z", "accountId": 7, "amount": 3},
    ]
    for item in items:
        fast = COERCER.fast(item)
        assert fast is not None
        assert fast == graphql_core(item)


def converted(value: Any) -> Any:
    if isinstance(value, AppError):
        return [(e.code, e.message, e.field) for e in value]
    return shown(asdict(value))


@settings(max_examples=500, deadline=None)
@given(ITEMS.map(lambda d: {**d, "accountId": d.get("accountId") or ID_LIKE[len(d) % 4]}))
def test_items_convert_as_the_input_object_does(value: dict[str, Any]) -> None:
    coerced = COERCER.coerce(value)
    if coerced is None:
        return
    python = {f.python_name: coerced[to_camel_case(f.python_name)] for f in FIELDS}
    expected = _parse_item(LogActivityInput(**python))
    assert converted(item_from_coerced(coerced)) == converted(expected)
