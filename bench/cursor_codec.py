"""The cursor codec per cursor: seal (encode) and open (decode), against the plain base64 of
the array that cursors were before they were sealed, and the compiled path's sealing of a
whole answer (`seal_marked`).

    .venv/bin/python -m bench.cursor_codec [--n 20000]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from app.kit import cursor
from app.models.accounts import Account

KEY = ("NAME:0", "Schmidt Landmaschinen GmbH & Co. KG", 1_234_567)
TIMED_KEY = ("UPDATED_AT:1", datetime(2026, 12, 7, 21, 4, 5, 123456, tzinfo=UTC), 987_654)
COLUMNS = ["order", Account.name, Account.id]


def _per_call(work: Callable[[], object], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        work()
    return (time.perf_counter() - started) / n * 1e6


def _page_text(rows: int) -> str:
    """A compiled answer's JSON text with `rows` marked cursors, as PostgreSQL writes it."""
    array = orjson.dumps(list(KEY)).decode()
    edge = f'{{"cursor":"{cursor.MARK}{array}{cursor.MARK}","node":{{"name":"x"}}}}'
    return '{"accounts":{"edges":[' + ",".join([edge] * rows) + "]}}"


def _before_encode(key: tuple[object, ...]) -> str:
    """encode_cursor as it was before cursors were sealed."""
    values = [cursor._encode_value(v) for v in key]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode()


def _before_decode(value: str) -> tuple[object, ...]:
    """decode_cursor as it was before cursors were sealed (the same checks)."""
    key = tuple(cursor._decode_value(v) for v in orjson.loads(base64.urlsafe_b64decode(value)))
    assert all(cursor._fits(v, c) for v, c in zip(key, COLUMNS, strict=True))
    return key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    sealed = cursor.encode_cursor(KEY)
    plain = _before_encode(KEY)
    page = _page_text(100)
    figures = {
        "encode, sealed": _per_call(lambda: cursor.encode_cursor(KEY), n),
        "encode, before (plain base64)": _per_call(lambda: _before_encode(KEY), n),
        "encode, timestamp key, sealed": _per_call(lambda: cursor.encode_cursor(TIMED_KEY), n),
        "decode, sealed": _per_call(lambda: cursor.decode_cursor(sealed, COLUMNS), n),
        "decode, before (plain base64)": _per_call(lambda: _before_decode(plain), n),
        "seal_marked, page of 100": _per_call(lambda: cursor.seal_marked(page), n // 100),
    }
    for name, micros in figures.items():
        print(f"{name:32} {micros:8.2f} µs")
    print(f"cursor length: sealed {len(sealed)}, before {len(plain)} characters")


if __name__ == "__main__":
    main()
