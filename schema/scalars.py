"""Scalar overrides: DateTime parsed by the standard library and required to carry a zone."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition


def parse_datetime(value: object) -> datetime:
    # datetime.fromisoformat is ~10x faster than dateutil's isoparse, which matters when an
    # integration posts a thousand events in one request.
    if not isinstance(value, str):
        raise ValueError(f"DateTime must be an ISO-8601 string, got {value!r}.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO-8601 date and time.") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no zone: add Z or an offset such as +02:00.")
    return parsed


DateTime = strawberry.scalar(
    name="DateTime",
    description="Date and time, ISO-8601 with a zone offset.",
    serialize=datetime.isoformat,
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
