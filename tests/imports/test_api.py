"""Imports and exports over HTTP: startImport (multipart), ImportJob polling, /export/*.csv."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.activities.ingest import ActivityInput, log_activities
from app.assignments.service import assign_account
from app.events import pk_of
from app.imports.jobs import wait_for_jobs
from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.accounts import Account
from app.models.activities import ActivityKind
from app.models.assignments import ManagerType
from app.models.auth import Role
from app.models.imports import ImportJob
from app.settings import Settings
from app.web.app import create_app
from tests.accounts.factories import create_account, create_contact
from tests.imports.files import accounts_file, expected_errors
from tests.support import Api, Caller, contract_operations
from tests.webhooks.support import outbox


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.exists() else []


async def _start(
    client: httpx.AsyncClient, caller: Caller, content: bytes, **input: object
) -> httpx.Response:
    operations = {
        "query": contract_operations()["StartImport"],
        "variables": {"input": {"kind": "ACCOUNTS", "file": None, **input}},
    }
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("accounts.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {caller.token}"},
    )


async def test_start_import_runs_a_job_with_row_errors(api: Api, settings: Settings) -> None:
    manager = await api.caller(Role.MANAGER)
    response = await _start(api.client, manager, accounts_file(), mode="SKIP_INVALID")
    assert response.status_code == 200, response.text
    started = response.json()["data"]["startImport"]
    assert started["errors"] == []
    assert started["job"]["kind"] == "ACCOUNTS"
    assert started["job"]["status"] == "QUEUED"
    assert started["job"]["dryRun"] is False
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": started["job"]["id"]}, caller=manager))["node"]
    assert {k: job[k] for k in ("status", "mode", "totalRows", "processedRows")} == {
        "status": "SUCCEEDED",
        "mode": "SKIP_INVALID",
        "totalRows": 14,
        "processedRows": 14,
    }
    assert (job["createdCount"], job["updatedCount"], job["rejectedCount"]) == (5, 0, 9)
    assert job["startedAt"] is not None
    assert job["finishedAt"] is not None
    errors = job["rowErrors"]
    assert errors["totalCount"] == 9
    assert [
        (e["node"]["row"], e["node"]["column"], e["node"]["code"]) for e in errors["edges"]
    ] == (expected_errors())
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 5
    assert _files(settings.data_dir / "imports") == []


async def test_all_or_nothing_job_fails_and_writes_nothing(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    response = await _start(api.client, admin, accounts_file())
    job_id = response.json()["data"]["startImport"]["job"]["id"]
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": job_id}, caller=admin))["node"]
    assert (job["status"], job["createdCount"], job["rejectedCount"]) == ("FAILED", 0, 9)
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 0


async def test_start_import_is_for_managers(api: Api, settings: Settings) -> None:
    rep = await api.caller(Role.REP)
    response = await _start(api.client, rep, accounts_file())
    assert response.json()["data"]["startImport"]["errors"][0]["code"] == "FORBIDDEN"
    assert await api.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert _files(settings.data_dir / "uploads") == []


@pytest.fixture
async def small_upload_client(
    tmp_path: Path, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.from_env(
        {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_MAX_UPLOAD_BYTES": "2000"}
    )
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_upload_over_its_limit_is_413(
    api: Api, small_upload_client: httpx.AsyncClient, tmp_path: Path
) -> None:
    manager = await api.caller(Role.MANAGER)
    big = b"externalRef,name\n" + b"".join(b"R%d,Name %d\n" % (n, n) for n in range(500))
    response = await _start(small_upload_client, manager, big)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await api.session.scalar(select(func.count()).select_from(ImportJob)) == 0
    assert _files(tmp_path / "uploads") == []
    small = await _start(small_upload_client, manager, b"externalRef,name\nR1,One\n")
    assert small.status_code == 200
    await wait_for_jobs()


async def _csv(
    client: httpx.AsyncClient, caller: Caller, kind: str, **params: str
) -> httpx.Response:
    return await client.get(
        f"/export/{kind}.csv", params=params, headers={"Authorization": f"Bearer {caller.token}"}
    )


async def test_export_endpoint_auth_and_filter(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    await create_account(api.session, name="Acme", external_ref="A1", country_code="DE")
    await create_account(api.session, name="Beta", external_ref="B1", country_code="AT")
    assert (await api.client.get("/export/accounts.csv")).status_code == 401
    assert (await _csv(api.client, rep, "accounts")).status_code == 403
    assert (await _csv(api.client, manager, "nothing")).status_code == 404
    bad = await _csv(api.client, manager, "accounts", filter='{"colour": "red"}')
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["field"] == "filter.colour"
    response = await _csv(api.client, manager, "accounts", filter='{"countryCode": "AT"}')
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["externalRef"], r["name"], r["countryCode"]) for r in rows] == [("B1", "Beta", "AT")]


async def test_every_kind_round_trips_unchanged(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    rep = await api.caller(Role.REP)
    account = await create_account(
        api.session, name="Acme", external_ref="A1", attributes={"k": [1, "x"]}
    )
    await create_account(api.session, name="No ref")
    await create_contact(api.session, account, name="Ann")
    await create_lead(
        api.session, actor=SYSTEM, company="Lead Co", email="x@lead.de", external_ref="L1"
    )
    await create_lead(api.session, actor=SYSTEM, company="Lead Two", attributes={"a": 1})
    now = datetime.now(UTC)
    await log_activities(
        api.session,
        actor=SYSTEM,
        items=[
            ActivityInput(
                kind=ActivityKind.INVOICE,
                occurred_at=now,
                account_id=account.id,
                amount=Decimal("12.50"),
            ),
            ActivityInput(
                kind=ActivityKind.CALL_INBOUND,
                occurred_at=now,
                account_id=account.id,
                source="pbx",
                external_id="c1",
            ),
        ],
        max_batch=10,
    )
    await assign_account(
        api.session,
        actor=SYSTEM,
        account_id=account.id,
        user_id=rep.user_id,
        manager_type=ManagerType.SALES,
        contact_frequency_days=30,
    )
    await api.session.commit()
    for kind in ("accounts", "contacts", "leads", "activities", "assignments"):
        before = (await _csv(api.client, manager, kind)).content
        assert before.count(b"\n") >= 2, kind
        response = await _start(api.client, manager, before, kind=kind.upper())
        job_id = response.json()["data"]["startImport"]["job"]["id"]
        await wait_for_jobs()
        job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
        assert (job["status"], job["createdCount"], job["updatedCount"], job["rejectedCount"]) == (
            "SUCCEEDED",
            0,
            0,
            0,
        ), (kind, job)
        assert (await _csv(api.client, manager, kind)).content == before, kind


async def test_contacts_import_finds_accounts_by_external_ref(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await create_account(api.session, name="Acme", external_ref="A1")
    content = b"accountExternalRef;name;email;buyingRole\nA1;Ann;ann@acme.de;champion\nZZ;Bob;;\n"
    response = await _start(api.client, manager, content, kind="CONTACTS", mode="SKIP_INVALID")
    job_id = response.json()["data"]["startImport"]["job"]["id"]
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
    assert (job["createdCount"], job["rejectedCount"]) == (1, 1)
    assert [
        (e["node"]["row"], e["node"]["column"], e["node"]["code"])
        for e in job["rowErrors"]["edges"]
    ] == [(3, "accountExternalRef", "NOT_FOUND")]
    exported = (await _csv(api.client, manager, "contacts")).text
    assert exported.endswith(",A1,Ann,,ann@acme.de,,CHAMPION\r\n")


async def test_a_finished_import_emits_import_finished(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    response = await _start(api.client, admin, accounts_file())
    job_id = response.json()["data"]["startImport"]["job"]["id"]
    await wait_for_jobs()
    finished = [r for r in await outbox(api.session) if r.type == "import.finished"]
    assert len(finished) == 1
    assert finished[0].object_key == f"ImportJob:{pk_of(job_id)}"
    assert finished[0].data == {
        "id": job_id,
        "kind": "ACCOUNTS",
        "status": "FAILED",
        "totalRows": 14,
        "dryRun": False,
    }
