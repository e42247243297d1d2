"""GET /export/reports/{field}.csv: the same figures as GraphQL, the same role rule."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.accounts import Classification
from app.models.activities import Activity, ActivityKind
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment, noon
from tests.handoff.factories import default_pipeline
from tests.reports.factories import DAY, event, jan, set_entry
from tests.support import Api, Caller


async def get_csv(
    client: httpx.AsyncClient, path: str, caller: Caller | None
) -> tuple[int, list[list[str]]]:
    headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
    response = await client.get(path, headers=headers)
    if response.status_code != 200:
        return response.status_code, []
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return 200, list(csv.reader(io.StringIO(response.text)))


async def test_coverage_csv_matches_graphql(
    api: Api, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    rep = await api.caller(Role.REP, name="Rep, Senior")
    manager = await api.caller(Role.MANAGER)
    account = await create_account(session, "Acme", classification=Classification.B)
    await create_assignment(
        session, account_id=account.id, user_id=rep.user_id, frequency=10, started_at=noon(30)
    )
    path = "/export/reports/coverageReport.csv?groupBy=USER,CLASSIFICATION"
    status, rows = await get_csv(client, path, manager)
    assert status == 200
    assert rows == [
        [
            "user.id",
            "user.name",
            "managerType",
            "classification",
            "assignments",
            "onTrack",
            "dueSoon",
            "overdue",
            "overdueShare",
            "surplus",
            "balanced",
            "deficit",
            "contactsPerAccountLast365Days",
        ],
        [rep.id, "Rep, Senior", "", "B", "1", "0", "0", "1", "1.0", "0", "0", "1", "0.0"],
    ]
    graphql = await api.op("Coverage", {"groupBy": ["USER", "CLASSIFICATION"]}, caller=manager)
    (row,) = graphql["coverageReport"]
    assert (row["overdue"], row["deficit"], row["overdueShare"]) == (1, 1, 1.0)


async def test_flow_stuck_and_mix_csv(
    api: Api, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    rep = await api.caller(Role.REP, name="Rep")
    admin = await api.caller(Role.ADMIN)
    pipeline = await default_pipeline(session)
    account = await create_account(session, "Acme")
    owners = (rep.user_id, rep.user_id)
    session.add_all(
        [
            event(pipeline, account.id, (None, "PROSPECT"), jan(1), (None, rep.user_id)),
            event(pipeline, account.id, ("PROSPECT", "QUALIFIED"), jan(2), owners, DAY),
            Activity(account_id=account.id, kind=ActivityKind.VISIT, occurred_at=jan(2)),
        ]
    )
    await session.commit()
    await set_entry(session, account, stage="QUALIFIED", days_ago=60, owner_id=rep.user_id)
    span = "from=2025-01-01T00:00:00%2B00:00&to=2025-02-01T00:00:00Z"

    _, rows = await get_csv(client, f"/export/reports/stageThroughput.byOwner.csv?{span}", admin)
    assert rows[1:] == [
        [rep.id, "Rep", "PROSPECT", "1", "1", "86400.0", "1.0"],
        [rep.id, "Rep", "QUALIFIED", "1", "0", "", ""],
    ]
    _, rows = await get_csv(client, f"/export/reports/stageThroughput.csv?{span}", admin)
    assert [r[:3] for r in rows[1:3]] == [["PROSPECT", "1", "1"], ["QUALIFIED", "1", "0"]]
    path = f"/export/reports/stageTrend.csv?{span}&interval=MONTH&pipeline=default"
    _, rows = await get_csv(client, path, admin)
    assert rows[0] == ["periodStart", "stage", "entered", "exited", "medianSecondsInStage"]
    assert rows[1] == ["2025-01-01T00:00:00+00:00", "PROSPECT", "1", "1", "86400.0"]
    assert len(rows) == 1 + 5
    _, rows = await get_csv(client, "/export/reports/stuckEntries.csv?olderThanDays=30", admin)
    assert [r[1:5] for r in rows[1:]] == [["Acme", rep.id, "Rep", "QUALIFIED"]]
    _, rows = await get_csv(client, f"/export/reports/activityMix.csv?{span}", admin)
    assert rows == [["kind", "count", "accounts", "share"], ["VISIT", "1", "1", "1.0"]]


async def test_forecast_csv_header(api: Api, client: httpx.AsyncClient) -> None:
    manager = await api.caller(Role.MANAGER)
    path = "/export/reports/forecast.csv?groupBy=INDUSTRY&periodStart=2025-03-01"
    status, rows = await get_csv(client, path, manager)
    assert status == 200
    assert rows == [
        ["key", "label", "accounts", "baselineRevenue", "forecastRevenue", "targetRevenue", "gap"]
    ]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("coverageReport.csv", "groupBy"),
        ("coverageReport.csv?groupBy=USER,TEAM", "groupBy"),
        ("stageTrend.csv?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z", "interval"),
        ("activityMix.csv?from=2025-01-01&to=2025-02-01T00:00:00Z", "from"),
        ("stuckEntries.csv?olderThanDays=ten", "olderThanDays"),
        (
            "stageTrend.csv?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z&interval=DAY"
            "&pipeline=nope",
            "pipeline",
        ),
    ],
)
async def test_bad_arguments_name_the_field(
    api: Api, client: httpx.AsyncClient, path: str, field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    headers = {"Authorization": f"Bearer {manager.token}"}
    response = await client.get(f"/export/reports/{path}", headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["field"] == field


async def test_tokens_and_roles(api: Api, client: httpx.AsyncClient) -> None:
    path = "/export/reports/activityMix.csv?from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z"
    assert (await client.get(path)).status_code == 401
    bad = {"Authorization": "Bearer af_not_a_token"}
    assert (await client.get(path, headers=bad)).status_code == 401
    for role in (Role.REP, Role.INTEGRATION):
        caller = await api.caller(role)
        status, _ = await get_csv(client, path, caller)
        assert status == 403
    manager = await api.caller(Role.MANAGER)
    missing = "/export/reports/nothing.csv?x=1"
    assert (await get_csv(client, missing, manager))[0] == 404
