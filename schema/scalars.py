"""Scalar overrides: DateTime parsed by the standard library and required to carry a zone."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.engine import ScalarMap


def parse_datetime(value: object) -> datetime:
    """Any ISO-8601 date and time with a zone.

    The range (years 1900-2200, app.kit.validation.moment_error) is checked by the services, not
    here: a scalar that fails coercion fails the whole request before any resolver runs, and
    one bad item of `logActivities` must be rejected by its index, not lose the batch.
    """
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

SCALAR_MAP: ScalarMap = {datetime: DateTime}
