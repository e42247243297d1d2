"""GET /export/reports/{field}.csv: each report as CSV, from the services GraphQL calls.

`field` is the GraphQL field name (`stageThroughput.byOwner` for the per-owner rows); the
arguments are query parameters with GraphQL's names, lists comma-separated. The edge
(app.web.auth) checked the bearer token and the role rule (`report.read`) already.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from app.errors import AppError
from app.handoff import reports as handoff_reports
from app.handoff import service as handoff
from app.kit.csv_cells import neutralise
from app.kit.pagination import check_page_args
from app.models.accounts import Classification
from app.models.assignments import ManagerType
from app.models.auth import User
from app.models.leads import AssignmentRule
from app.planning import figures
from app.replica import ReportDatabase
from app.reports import activity_mix, coverage, flow, stuck
from schema.handoff.types import DEFAULT
from schema.planning.reports import ForecastRow
from schema.relay import to_global_id
from schema.reports.params import Params
from schema.reports.types import team_pk

MAX_EXPORT_ROWS = 10_000
Table = tuple[list[str], list[list[Any]]]
Export = Callable[[AsyncSession, Params], Awaitable[Table]]


async def _user_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(User.id, User.name).where(User.id.in_(wanted)))
    return {pk: name for pk, name in rows}


def _user_cells(pk: int | None, names: dict[int, str]) -> list[Any]:
    return [None, None] if pk is None else [to_global_id("User", pk), names.get(pk)]


async def _coverage(session: AsyncSession, params: Params) -> Table:
    group_by = params.enums("groupBy", coverage.CoverageGrouping) or []
    found = coverage.CoverageFilter(
        manager_type=params.enum("managerType", ManagerType),
        classifications=params.enums("classification", Classification),
        user_id=params.user_id("userId"),
        team_id=team_pk(params.text("teamId"), "teamId"),
    )
    rows = await coverage.coverage_report(session, group_by=group_by, filter=found)
    names = await _user_names(session, (r.user_id for r in rows))
    header = ["user.id", "user.name", "managerType", "classification", "assignments", "onTrack"]
    header += ["dueSoon", "overdue", "overdueShare", "surplus", "balanced", "deficit"]
    header += ["contactsPerAccountLast365Days"]
    # The row's fields between its user (two cells) and its territory (last, asked for only).
    table = [[*_user_cells(r.user_id, names), *list(asdict(r).values())[1:-1]] for r in rows]
    if coverage.CoverageGrouping.TERRITORY in group_by:
        rules = await _rule_names(session, (r.territory_id for r in rows))
        header += ["territory.id", "territory.name"]
        table = [
            [*t, *_rule_cells(r.territory_id, rules)] for t, r in zip(table, rows, strict=True)
        ]
    return header, table


async def _rule_names(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    query = select(AssignmentRule.id, AssignmentRule.name).where(AssignmentRule.id.in_(wanted))
    return {pk: name for pk, name in await session.execute(query)}


def _rule_cells(pk: int | None, names: dict[int, str]) -> list[Any]:
    return [None, None] if pk is None else [to_global_id("AssignmentRule", pk), names.get(pk)]


async def _pipeline(session: AsyncSession, params: Params) -> Any:
    return await handoff.get_pipeline(session, params.text("pipeline", DEFAULT) or DEFAULT)


async def _throughput(session: AsyncSession, params: Params) -> Table:
    start, end = params.timestamp("from"), params.timestamp("to")
    found = await _pipeline(session, params)
    rows = await handoff_reports.stage_throughput(session, pipeline=found, start=start, end=end)
    header = ["stage", "entered", "exited", "current", "medianSecondsInStage"]
    header += ["p90SecondsInStage", "conversionRate", "touchesPerStay"]
    return header, [list(asdict(r).values()) for r in rows]


async def _by_owner(session: AsyncSession, params: Params) -> Table:
    start, end = params.timestamp("from"), params.timestamp("to")
    found = await _pipeline(session, params)
    team = team_pk(params.text("teamId"), "teamId")
    rows = await flow.throughput_by_owner(
        session, pipeline=found, start=start, end=end, team_id=team
    )
    names = await _user_names(session, (r.owner_id for r in rows))
    header = ["owner.id", "owner.name", "stage", "entered", "exited", "medianSecondsInStage"]
    header += ["conversionRate"]
    return header, [[*_user_cells(r.owner_id, names), *list(asdict(r).values())[1:]] for r in rows]


async def _trend(session: AsyncSession, params: Params) -> Table:
    start, end = params.timestamp("from"), params.timestamp("to")
    interval = params.required_enum("interval", flow.ReportInterval)
    found = await _pipeline(session, params)
    rows = await flow.stage_trend(session, pipeline=found, start=start, end=end, interval=interval)
    header = ["periodStart", "stage", "entered", "exited", "medianSecondsInStage"]
    return header, [list(asdict(r).values()) for r in rows]


async def _stuck(session: AsyncSession, params: Params) -> Table:
    older_than = params.required_number("olderThanDays")
    args = check_page_args(
        params.number("first"),
        params.text("after"),
        default=MAX_EXPORT_ROWS,
        maximum=MAX_EXPORT_ROWS,
    )
    found = await _pipeline(session, params)
    team = team_pk(params.text("teamId"), "teamId")
    page = await stuck.stuck_entries(
        session, pipeline=found, older_than_days=older_than, args=args, team_id=team
    )
    now = datetime.now(UTC)
    header = ["account.id", "account.name", "owner.id", "owner.name", "stage", "enteredAt"]
    header += ["secondsInStage", "cursor"]
    rows = [
        [
            to_global_id("Account", r.account_id),
            r.account_name,
            None if r.owner_id is None else to_global_id("User", r.owner_id),
            r.owner_name,
            r.stage,
            r.entered_at,
            stuck.seconds_since(r.entered_at, now),
            cursor,
        ]
        for r, cursor in zip(page.items, page.cursors, strict=True)
    ]
    return header, rows


async def _activity_mix(session: AsyncSession, params: Params) -> Table:
    start, end = params.timestamp("from"), params.timestamp("to")
    team = team_pk(params.text("teamId"), "teamId")
    rows = await activity_mix.activity_mix(session, start=start, end=end, team_id=team)
    return ["kind", "count", "accounts", "share"], [list(asdict(r).values()) for r in rows]


async def _forecast(session: AsyncSession, params: Params) -> Table:
    group_by = params.required_enum("groupBy", figures.ForecastGrouping)
    period_start = params.day("periodStart")
    rows = await figures.forecast(session, group_by=group_by, period_start=period_start)
    header = ["key", "label", "accounts", "baselineRevenue", "forecastRevenue"]
    header += ["targetRevenue", "gap"]
    mapped = [ForecastRow.from_row(group_by, row) for row in rows]
    return header, [[getattr(r, _snake(h)) for h in header] for r in mapped]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


EXPORTS: dict[str, Export] = {
    "coverageReport": _coverage,
    "stageThroughput": _throughput,
    "stageThroughput.byOwner": _by_owner,
    "stageTrend": _trend,
    "stuckEntries": _stuck,
    "activityMix": _activity_mix,
    "forecast": _forecast,
}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "value"):  # StrEnum
        return value.value
    if isinstance(value, str):  # a name; numbers are no str and stay numbers
        return neutralise(value)
    return value


def _raw_cell(value: Any) -> Any:
    return value if isinstance(value, str) else _cell(value)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], *, raw: bool = False) -> str:
    """The report as CSV; a text cell a spreadsheet would run is quoted unless `raw`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    cell = _raw_cell if raw else _cell
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()


def _error(status: int, message: str, code: str, field: str | None = None) -> Response:
    extensions: dict[str, Any] = {"code": code}
    if field is not None:
        extensions["field"] = field
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class ReportExport:
    """The report runs where GraphQL's would: on the replica while it is healthy
    (app.replica), else on the primary."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        replica: ReportDatabase | None,
        *,
        raw_cells: bool = False,  # ACCOUNTFLOW_CSV_RAW
    ) -> None:
        self.sessionmaker = sessionmaker
        self.replica = replica
        self.raw_cells = raw_cells

    async def __call__(self, request: Request) -> Response:
        field = request.path_params["field"]
        export = EXPORTS.get(field)
        if export is None:
            return _error(404, f"No report named {field!r}.", "NOT_FOUND")
        try:
            header, rows = await self._run(export, Params(request.query_params))
        except AppError as error:
            return _error(400, error.message, error.code, error.field)
        return Response(
            to_csv(header, rows, raw=self.raw_cells),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{field}.csv"'},
        )

    async def _run(self, export: Export, params: Params) -> Table:
        chosen = None if self.replica is None else await self.replica.choose()
        async with (chosen or self.sessionmaker)() as session:
            try:
                return await export(session, params)
            finally:
                await session.close()
