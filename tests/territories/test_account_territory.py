"""The territory (assignment rule) an account was assigned by, recorded on the account
(issue 21): Account.territory, its audit row, and coverageReport grouped by TERRITORY."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select

from app.models.audit import AuditEntry
from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.activities.factories import create_assignment
from tests.support import Api, Caller

CREATE = """
mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    account { id territory { id name } assignments { managerType user { id } } }
    errors { code field }
  }
}"""
ACCOUNT = "query($id: ID!) { node(id: $id) { ... on Account { territory { id name } } } }"
COVERAGE = """
query($groupBy: [CoverageGrouping!]!) {
  coverageReport(groupBy: $groupBy) { territory { id name } user { id } assignments }
}"""


def rule(name: str, manager_type: str, member: Caller, position: int = 1) -> dict[str, Any]:
    return {
        "name": name,
        "position": position,
        "managerType": manager_type,
        "criteria": {"countryCodes": ["DE"]},
        "members": [{"userId": member.id}],
    }


async def define(api: Api, manager: Caller, input: dict[str, Any]) -> str:
    data = await api.op("DefineAssignmentRule", {"input": input}, caller=manager)
    assert data["defineAssignmentRule"]["errors"] == []
    found: str = data["defineAssignmentRule"]["rule"]["id"]
    return found


async def create(api: Api, manager: Caller, name: str, country: str) -> dict[str, Any]:
    variables = {"input": {"name": name, "address": {"countryCode": country}}}
    data = await api.data(CREATE, variables, caller=manager)
    assert data["createAccount"]["errors"] == []
    account: dict[str, Any] = data["createAccount"]["account"]
    return account


async def test_the_first_rule_to_assign_an_account_is_its_territory(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    sales_rep, parts_rep = await api.caller(Role.REP), await api.caller(Role.REP)
    parts = await define(api, manager, rule("DACH parts", "PARTS", parts_rep))
    sales = await define(api, manager, rule("DACH sales", "SALES", sales_rep))
    farm = await create(api, manager, "Farm", "DE")
    assert farm["territory"] == {"id": sales, "name": "DACH sales"}  # SALES before PARTS
    assert len(farm["assignments"]) == 2
    elsewhere = await create(api, manager, "Ferme", "FR")
    assert (elsewhere["territory"], elsewhere["assignments"]) == (None, [])

    read = await api.data(ACCOUNT, {"id": farm["id"]}, caller=manager)
    assert read["node"] == {"territory": {"id": sales, "name": "DACH sales"}}
    audits = await api.session.scalars(
        select(AuditEntry.changes).where(AuditEntry.action == "account.territory")
    )
    assert [a["territoryId"]["before"] for a in audits] == [None]
    assert parts != sales


async def test_a_territory_is_kept_when_a_later_rule_assigns_another_type(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    sales_rep, parts_rep = await api.caller(Role.REP), await api.caller(Role.REP)
    sales = await define(api, manager, rule("DACH sales", "SALES", sales_rep))
    farm = await create(api, manager, "Farm", "DE")
    await define(api, manager, rule("DACH parts", "PARTS", parts_rep))
    backfill = {"input": {"dryRun": False}}
    data = await api.op("ApplyAssignmentRules", backfill, caller=manager)
    assert data["applyAssignmentRules"]["assignedCount"] == 1
    read = await api.data(ACCOUNT, {"id": farm["id"]}, caller=manager)
    assert read["node"] == {"territory": {"id": sales, "name": "DACH sales"}}


async def test_coverage_grouped_by_territory(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    sales_rep, parts_rep = await api.caller(Role.REP), await api.caller(Role.REP)
    sales = await define(api, manager, rule("DACH sales", "SALES", sales_rep))
    await define(api, manager, rule("DACH parts", "PARTS", parts_rep))
    await create(api, manager, "Farm", "DE")
    await create(api, manager, "Hof", "DE")
    by_hand = await create_account(api.session, "Ferme", country_code="FR")
    await create_assignment(api.session, account_id=by_hand.id, user_id=sales_rep.user_id)

    data = await api.data(COVERAGE, {"groupBy": ["TERRITORY"]}, caller=manager)
    assert data["coverageReport"] == [
        {"territory": {"id": sales, "name": "DACH sales"}, "user": None, "assignments": 4},
        {"territory": None, "user": None, "assignments": 1},
    ]
    data = await api.data(COVERAGE, {"groupBy": ["TERRITORY", "USER"]}, caller=manager)
    assert [
        (r["territory"] and r["territory"]["name"], r["assignments"])
        for r in data["coverageReport"]
    ] == [("DACH sales", 2), (None, 1), ("DACH sales", 2)]

    headers = {"Authorization": f"Bearer {manager.token}"}
    path = "/export/reports/coverageReport.csv?groupBy=TERRITORY"
    response = await api.client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][-2:] == ["territory.id", "territory.name"]
    assert [(r[4], r[-2], r[-1]) for r in rows[1:]] == [("4", sales, "DACH sales"), ("1", "", "")]
