"""A report range split into whole UTC days and partial ends, and percentile_cont's arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class SplitRange:
    """[start, end) = raw [start, head_end) + days [day_from, day_to) + raw [tail_start, end)."""

    start: datetime
    end: datetime
    head_end: datetime
    tail_start: datetime
    day_from: date
    day_to: date

    def params(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "head_end": self.head_end,
            "tail_start": self.tail_start,
            "day_from": self.day_from,
            "day_to": self.day_to,
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def split_range(start: datetime, end: datetime) -> SplitRange:
    first = start.astimezone(UTC).date()
    if _midnight(first) < start:
        first += timedelta(days=1)
    last = end.astimezone(UTC).date()
    if last <= first:  # no whole day inside: every row comes from the raw table
        return SplitRange(start, end, end, end, first, first)
    return SplitRange(start, end, _midnight(first), _midnight(last), first, last)


def percentile_cont(fraction: float, count: int, values: Mapping[int, float]) -> float | None:
    """PostgreSQL's percentile_cont over `count` sorted values, given the ones at its ranks.

    The same float arithmetic as orderedsetaggs.c, so the answer is equal to the bit.
    """
    if count == 0:
        return None
    position = fraction * (count - 1)
    first, second = math.floor(position), math.ceil(position)
    low = values[first]
    if second == first:
        return low
    return low + (position - first) * (values[second] - low)
