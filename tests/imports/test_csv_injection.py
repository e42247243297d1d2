"""CSV (formula) injection: exports and report CSVs quote a cell a spreadsheet would run,
keep numbers numbers, and the importer reads the quoted cells back as they were stored."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from app.activities.ingest import ActivityInput, log_activities
from app.imports.jobs import wait_for_jobs
from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.activities import ActivityKind
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.accounts.factories import create_account, create_contact
from tests.activities.factories import create_assignment, noon
from tests.imports.test_api import _csv, _start
from tests.support import Api, Caller

LINK = '=HYPERLINK("http://x","y")'


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


async def _hostile_records(api: Api) -> None:
    account = await create_account(
        api.session,
        name=LINK,
        external_ref="A1",
        phone="+49 30 1234",
        industry="-2+3",
        city="@SUM(A1)",
        street="'s-Hertogenbosch",
        region="'=quoted already",
        employee_count=12,
    )
    await create_contact(api.session, account, name="=1+1")
    await create_lead(api.session, actor=SYSTEM, company="+cmd|' /C calc'!A0", external_ref="L1")
    item = ActivityInput(
        kind=ActivityKind.INVOICE,
        occurred_at=datetime.now(UTC),
        account_id=account.id,
        amount=Decimal("12.50"),
        summary="-1-1",
        source="erp",
        external_id="=INV",
    )
    await log_activities(api.session, actor=SYSTEM, items=[item], max_batch=1)
    await api.session.commit()


async def test_exports_quote_formulas_and_keep_numbers(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _hostile_records(api)
    (account,) = _rows(await _csv(api.client, manager, "accounts"))
    assert account["name"] == "'" + LINK
    assert account["phone"] == "'+49 30 1234"
    assert account["industry"] == "'-2+3"
    assert account["city"] == "'@SUM(A1)"
    assert account["street"] == "'s-Hertogenbosch"  # no formula: as stored
    assert account["region"] == "''=quoted already"
    assert account["employeeCount"] == "12"
    (contact,) = _rows(await _csv(api.client, manager, "contacts"))
    assert contact["name"] == "'=1+1"
    (lead,) = _rows(await _csv(api.client, manager, "leads"))
    assert lead["company"] == "'+cmd|' /C calc'!A0"
    (activity,) = _rows(await _csv(api.client, manager, "activities"))
    assert (activity["summary"], activity["externalId"]) == ("'-1-1", "'=INV")
    assert activity["amount"] == "12.50"


async def test_quoted_exports_import_back_unchanged(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _hostile_records(api)
    for kind in ("accounts", "contacts", "leads", "activities"):
        before = (await _csv(api.client, manager, kind)).content
        response = await _start(api.client, manager, before, kind=kind.upper())
        job_id = response.json()["data"]["startImport"]["job"]["id"]
        await wait_for_jobs()
        job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
        counts = (job["status"], job["createdCount"], job["updatedCount"], job["rejectedCount"])
        assert counts == ("SUCCEEDED", 0, 0, 0), (kind, job)
        assert (await _csv(api.client, manager, kind)).content == before, kind


async def _report(client: httpx.AsyncClient, caller: Caller) -> list[dict[str, str]]:
    path = "/export/reports/coverageReport.csv?groupBy=USER"
    headers = {"Authorization": f"Bearer {caller.token}"}
    return _rows(await client.get(path, headers=headers))


async def test_report_csv_quotes_names_and_keeps_numbers(api: Api) -> None:
    rep = await api.caller(Role.REP, name=LINK)
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, frequency=10, started_at=noon(30)
    )
    (row,) = await _report(api.client, manager)
    assert row["user.name"] == "'" + LINK
    assert (row["assignments"], row["overdueShare"]) == ("1", "1.0")


@pytest.fixture
async def raw_client(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_CSV_RAW": "1"}
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_the_raw_switch_writes_cells_as_stored(
    api: Api, raw_client: httpx.AsyncClient
) -> None:
    rep = await api.caller(Role.REP, name=LINK)
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, LINK, phone="+49 30 1234")
    await create_assignment(
        api.session, account_id=account.id, user_id=rep.user_id, frequency=10, started_at=noon(30)
    )
    (exported,) = _rows(await _csv(raw_client, manager, "accounts"))
    assert (exported["name"], exported["phone"]) == (LINK, "+49 30 1234")
    (row,) = await _report(raw_client, manager)
    assert row["user.name"] == LINK
