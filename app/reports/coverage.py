"""Coverage per rep, manager type and classification: cadence status and balance counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, Boolean, String

from app.activities.cadence import (
    DEFAULT_DEFICIT_AT,
    DEFAULT_SURPLUS_AT,
    DEFAULT_WINDOW_DAYS,
    DUE_SOON_DAYS,
)
from app.errors import InvalidInputError
from app.kit.sql import REPORT_SETTINGS, sql_file
from app.models.accounts import Classification
from app.models.assignments import ManagerType
from app.reports.teams import check_team


class CoverageGrouping(StrEnum):
    USER = "USER"
    MANAGER_TYPE = "MANAGER_TYPE"
    CLASSIFICATION = "CLASSIFICATION"
    TERRITORY = "TERRITORY"


@dataclass(frozen=True, slots=True)
class CoverageFilter:
    manager_type: ManagerType | None = None
    classifications: Sequence[Classification] | None = None
    user_id: int | None = None
    team_id: int | None = None


@dataclass(frozen=True, slots=True)
class CoverageRow:
    user_id: int | None
    manager_type: ManagerType | None
    classification: Classification | None
    assignments: int
    on_track: int
    due_soon: int
    overdue: int
    overdue_share: float
    surplus: int
    balanced: int
    deficit: int
    contacts_per_account_last_365_days: float
    territory_id: int | None = None


COVERAGE = sql_file(
    __package__,
    "coverage.sql",
    bindparam("by_user", type_=Boolean),
    bindparam("by_manager_type", type_=Boolean),
    bindparam("by_classification", type_=Boolean),
    bindparam("by_territory", type_=Boolean),
    bindparam("manager_type", type_=String),
    bindparam("classifications", type_=ARRAY(String)),
    bindparam("user_id", type_=BigInteger),
    bindparam("team_id", type_=BigInteger),
)


async def coverage_report(
    session: AsyncSession,
    *,
    group_by: Sequence[CoverageGrouping],
    filter: CoverageFilter | None = None,
) -> list[CoverageRow]:
    if not group_by:
        raise InvalidInputError("Name at least one grouping.", field="groupBy")
    filter = filter or CoverageFilter()
    await check_team(session, filter.team_id)
    await session.execute(REPORT_SETTINGS)
    rows = await session.execute(COVERAGE, _params(group_by, filter))
    return [
        CoverageRow(
            row[0],
            None if row[1] is None else ManagerType(row[1]),
            None if row[2] is None else Classification(row[2]),
            *row[3:],
        )
        for row in rows
    ]


def _params(group_by: Sequence[CoverageGrouping], filter: CoverageFilter) -> dict[str, Any]:
    return {
        "by_user": CoverageGrouping.USER in group_by,
        "by_manager_type": CoverageGrouping.MANAGER_TYPE in group_by,
        "by_classification": CoverageGrouping.CLASSIFICATION in group_by,
        "by_territory": CoverageGrouping.TERRITORY in group_by,
        "manager_type": filter.manager_type,
        "classifications": None
        if filter.classifications is None
        else [c.value for c in filter.classifications],
        "user_id": filter.user_id,
        "team_id": filter.team_id,
        "window_days": DEFAULT_WINDOW_DAYS,
        "surplus_at": DEFAULT_SURPLUS_AT,
        "deficit_at": DEFAULT_DEFICIT_AT,
        "due_soon_days": DUE_SOON_DAYS,
    }
