"""employeeCount, a column added through the read model alone: set, checked, read on both
paths, filtered, exported and imported back."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from app.imports.jobs import wait_for_jobs
from app.models.accounts import Account
from app.models.auth import Role
from tests.imports.test_api import _start
from tests.support import Api, Caller

CREATE = """mutation($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id employeeCount } errors { code field } }
}"""
UPDATE = """mutation($input: UpdateAccountInput!) {
  updateAccount(input: $input) { account { employeeCount } errors { code field } }
}"""
LIST = """query($above: Int) {
  accounts(filter: {employeeCountAbove: $above}) {
    totalCount edges { node { name employeeCount } }
  }
}"""


async def _create(api: Api, caller: Caller, name: str, count: int | None, **more: str) -> str:
    given = {"name": name, "employeeCount": count, **more}
    data = await api.data(CREATE, {"input": given}, caller=caller)
    assert data["createAccount"]["errors"] == []
    assert data["createAccount"]["account"]["employeeCount"] == count
    account_id: str = data["createAccount"]["account"]["id"]
    return account_id


async def test_set_filtered_and_read_by_the_compiled_path(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _create(api, manager, "Small", 12)
    await _create(api, manager, "Large", 4_000)
    await _create(api, manager, "Unknown", None)
    response = await api.post(LIST, {"above": 12}, caller=manager)
    assert response.headers["x-accountflow-executor"] == "compiled"
    assert response.json()["data"]["accounts"] == {
        "totalCount": 1,
        "edges": [{"node": {"name": "Large", "employeeCount": 4000}}],
    }
    everyone = await api.data(LIST, {"above": None}, caller=manager)
    assert [e["node"]["employeeCount"] for e in everyone["accounts"]["edges"]] == [4000, 12, None]


async def test_a_count_out_of_range_is_refused_and_writes_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account_id = await _create(api, manager, "Acme", 40)
    for bad in (-1, 10_000_001):
        data = await api.data(
            UPDATE, {"input": {"id": account_id, "employeeCount": bad}}, caller=manager
        )
        assert data["updateAccount"] == {
            "account": None,
            "errors": [{"code": "INVALID_INPUT", "field": "employeeCount"}],
        }
    assert await api.session.scalar(select(Account.employee_count)) == 40
    data = await api.data(
        UPDATE, {"input": {"id": account_id, "employeeCount": 41}}, caller=manager
    )
    assert data["updateAccount"] == {"account": {"employeeCount": 41}, "errors": []}


async def test_exported_and_read_back_by_the_import(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await _create(api, manager, "Acme", 250)  # read back by id (createAccount's service)
    await _create(api, manager, "Beta", 260, externalRef="B-1")  # by key (the upsert)
    headers = {"Authorization": f"Bearer {manager.token}"}
    exported = await api.client.get(
        "/export/accounts.csv", params={"filter": '{"employeeCountAbove": 100}'}, headers=headers
    )
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [(r["name"], r["employeeCount"]) for r in rows] == [("Acme", "250"), ("Beta", "260")]
    changed = exported.text.replace(",250,", ",300,").replace(",260,", ",310,")
    assert changed.count(",300,") == changed.count(",310,") == 1
    started = await _start(api.client, manager, changed.encode())
    assert started.status_code == 200, started.text
    job_id = started.json()["data"]["startImport"]["job"]["id"]
    await wait_for_jobs()
    job = (await api.op("ImportJob", {"id": job_id}, caller=manager))["node"]
    assert (job["status"], job["updatedCount"], job["rejectedCount"]) == ("SUCCEEDED", 2, 0)
    data = await api.data(LIST, {"above": 100}, caller=manager)
    assert [e["node"]["employeeCount"] for e in data["accounts"]["edges"]] == [300, 310]
