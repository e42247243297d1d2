"""Report rows: coverage, flow per owner and per period, activity mix."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.errors import InvalidInputError
from app.reports import activity_mix, coverage, flow
from app.reports.coverage import CoverageGrouping
from app.reports.flow import ReportInterval
from schema.context import Context, Info
from schema.enums import ActivityKind, Classification, ManagerType
from schema.relay import decode_optional, from_global_id

if TYPE_CHECKING:
    from schema.territories import AssignmentRule
    from schema.users import User

UserRef = Annotated["User", strawberry.lazy("schema.users")]
RuleRef = Annotated["AssignmentRule", strawberry.lazy("schema.territories")]

strawberry.enum(CoverageGrouping)
strawberry.enum(ReportInterval)


async def load_user(context: Context, pk: int | None) -> User | None:
    from schema.users import load_user

    return await load_user(context, pk)


def team_pk(global_id: str | None, field: str = "filter.teamId") -> int | None:
    """A team's key; INVALID_INPUT naming `field` for an id of anything but a team (the
    reports then check that the team exists)."""
    if global_id is None:
        return None
    type_name, pk = from_global_id(global_id, field=field)
    if type_name != "Team":
        raise InvalidInputError("Unknown team.", field=field)
    return pk


@strawberry.input
class CoverageFilter:
    manager_type: ManagerType | None = None
    classification: list[Classification] | None = None
    user_id: strawberry.ID | None = None
    team_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only the assignments of the team's members."
    )

    def to_filter(self) -> coverage.CoverageFilter:
        return coverage.CoverageFilter(
            manager_type=self.manager_type,
            classifications=self.classification,
            user_id=decode_optional(self.user_id, "User", field="filter.userId"),
            team_id=team_pk(self.team_id),
        )


@strawberry.type(description="Assignments of one group; a grouping not asked for is null.")
class CoverageRow:
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
    contacts_per_account_last_365_days: float = strawberry.field(
        description="Mean number of UTC days with a counting contact in the last 365 days, "
        "per assignment (each covers one account)."
    )
    user_pk: strawberry.Private[int | None]
    territory_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: coverage.CoverageRow) -> Self:
        return cls(
            user_pk=row.user_id,
            territory_pk=row.territory_id,
            manager_type=row.manager_type,
            classification=row.classification,
            assignments=row.assignments,
            on_track=row.on_track,
            due_soon=row.due_soon,
            overdue=row.overdue,
            overdue_share=row.overdue_share,
            surplus=row.surplus,
            balanced=row.balanced,
            deficit=row.deficit,
            contacts_per_account_last_365_days=row.contacts_per_account_last_365_days,
        )

    @strawberry.field
    async def user(self, info: Info) -> UserRef | None:
        return await load_user(info.context, self.user_pk)

    @strawberry.field(description="With groupBy TERRITORY: the rule that assigned the accounts.")
    async def territory(self, info: Info) -> RuleRef | None:
        from schema.territories import load_rule

        return (
            None if self.territory_pk is None else await load_rule(info.context, self.territory_pk)
        )


@strawberry.type(
    description="Entries count for the owner receiving the entry; exits, stays and "
    "conversion for the owner holding it when it left."
)
class OwnerStageStats:
    stage: str
    entered: int
    exited: int
    median_seconds_in_stage: float | None
    conversion_rate: float | None
    owner_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: flow.OwnerStageStats) -> Self:
        return cls(
            owner_pk=row.owner_id,
            stage=row.stage,
            entered=row.entered,
            exited=row.exited,
            median_seconds_in_stage=row.median_seconds_in_stage,
            conversion_rate=row.conversion_rate,
        )

    @strawberry.field
    async def owner(self, info: Info) -> UserRef | None:
        return await load_user(info.context, self.owner_pk)


@strawberry.type
class StageTrendRow:
    period_start: datetime
    stage: str
    entered: int
    exited: int
    median_seconds_in_stage: float | None

    @classmethod
    def from_row(cls, row: flow.StageTrendRow) -> Self:
        return cls(
            period_start=row.period_start,
            stage=row.stage,
            entered=row.entered,
            exited=row.exited,
            median_seconds_in_stage=row.median_seconds_in_stage,
        )


@strawberry.type
class ActivityMixRow:
    kind: ActivityKind
    count: int
    accounts: int
    share: float

    @classmethod
    def from_row(cls, row: activity_mix.ActivityMixRow) -> Self:
        return cls(kind=row.kind, count=row.count, accounts=row.accounts, share=row.share)
