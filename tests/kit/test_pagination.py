"""One cursor codec for every keyset page: the order's name, then the row's sort key."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from app.errors import InvalidCursorError
from app.kit.cursor import decode_cursor, encode_cursor, unseal
from app.kit.pagination import Order
from app.models.accounts import Account, Classification
from app.models.activities import Activity


def test_values_json_lacks_are_tagged() -> None:
    key = (datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), date(2026, 1, 2), Decimal("48.10"))
    assert orjson.loads(unseal(encode_cursor(key))) == [
        {"dt": "2026-01-02T03:04:05.006000+00:00"},
        {"d": "2026-01-02"},
        {"n": "48.10"},
    ]


def test_a_key_comes_back_as_it_went() -> None:
    key = (datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC), Decimal("48.10"), 9)
    columns = [Activity.occurred_at, Activity.amount, Activity.id]
    assert decode_cursor(encode_cursor(key), columns) == key


def test_a_value_of_the_wrong_type_is_malformed() -> None:
    cursor = encode_cursor((date(2026, 1, 2), 9))
    with pytest.raises(InvalidCursorError, match="Malformed"):
        decode_cursor(cursor, [Activity.occurred_at, Activity.id])


def test_an_enum_is_written_by_its_value() -> None:
    cursor = encode_cursor((Classification.A, 7))
    assert orjson.loads(unseal(cursor)) == ["A", 7]
    assert decode_cursor(cursor, [Account.classification, Account.id]) == ("A", 7)


def test_an_order_of_columns_is_named_after_them() -> None:
    assert Order.of((Account.name, Account.id)).name == "name,id"
    assert Order.of((Activity.occurred_at, Activity.id), descending=True).name == (
        "-occurred_at,-id"
    )


def test_an_order_reads_back_its_own_cursors() -> None:
    order = Order.of((Account.name, Account.id))
    cursor = order.encode(("Acme", 12))
    assert orjson.loads(unseal(cursor)) == ["name,id", "Acme", 12]
    assert order.decode(cursor) == ["Acme", 12]


def test_a_cursor_of_another_order_is_refused() -> None:
    by_name = Order.of((Account.name, Account.id))
    by_name_descending = Order.of((Account.name, Account.id), descending=True)
    with pytest.raises(InvalidCursorError, match="another order") as raised:
        by_name_descending.decode(by_name.encode(("Acme", 12)), "before")
    assert raised.value.field == "before"


def test_a_cursor_without_its_order_name_is_malformed() -> None:
    with pytest.raises(InvalidCursorError, match="Malformed"):
        Order.of((Account.name, Account.id)).decode(encode_cursor(("Acme", 12)))
