"""/export/{kind}.csv filters: a value of the wrong type or with NUL is a 400 naming it, never
a 500; removed contacts stay out; a NUL in a lead search is INVALID_INPUT on GraphQL too."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest

from app.accounts.lifecycle import remove_contact
from app.kit.actor import SYSTEM
from app.leads.service import create_lead
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.imports.test_api import _csv
from tests.support import Api

HUGE_ID = to_global_id("Account", 2**64)

BAD_FILTERS: list[tuple[str, dict[str, Any], str]] = [
    ("accounts", {"search": 5}, "filter.search"),
    ("accounts", {"search": "a\x00b"}, "filter.search"),
    ("accounts", {"includeArchived": "no"}, "filter.includeArchived"),
    ("accounts", {"countryCode": 5}, "filter.countryCode"),
    ("accounts", {"countryCode": ["DE"]}, "filter.countryCode"),
    ("accounts", {"industry": {"a": 1}}, "filter.industry"),
    ("accounts", {"externalRef": True}, "filter.externalRef"),
    ("accounts", {"classification": 5}, "filter.classification"),
    ("accounts", {"classification": [["A"]]}, "filter.classification"),
    ("accounts", {"tags": [1]}, "filter.tags"),
    ("accounts", {"tags": "a\x00"}, "filter.tags"),
    ("accounts", {"employeeCountAbove": "10"}, "filter.employeeCountAbove"),
    ("accounts", {"employeeCountAbove": 1.5}, "filter.employeeCountAbove"),
    ("accounts", {"employeeCountAbove": True}, "filter.employeeCountAbove"),
    ("accounts", {"employeeCountAbove": 2**40}, "filter.employeeCountAbove"),
    ("accounts", {"parentId": 5}, "filter.parentId"),
    ("accounts", {"parentId": HUGE_ID}, "filter.parentId"),
    ("contacts", {"accountId": 5}, "filter.accountId"),
    ("contacts", {"accountId": ["x"]}, "filter.accountId"),
    ("leads", {"search": 5}, "filter.search"),
    ("leads", {"search": "a\x00b"}, "filter.search"),
    ("leads", {"ownerId": []}, "filter.ownerId"),
    ("leads", {"status": {"x": 1}}, "filter.status"),
    ("activities", {"from": 5}, "filter.from"),
    ("activities", {"to": "a\x00"}, "filter.to"),
    ("activities", {"kinds": 5}, "filter.kinds"),
    ("activities", {"userId": 7}, "filter.userId"),
    ("assignments", {"managerType": 5}, "filter.managerType"),
    ("assignments", {"accountId": None, "userId": 3}, "filter.userId"),
]


@pytest.mark.parametrize(("kind", "filter", "field"), BAD_FILTERS)
async def test_a_filter_value_of_the_wrong_type_is_a_400(
    api: Api, kind: str, filter: dict[str, Any], field: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    response = await _csv(api.client, manager, kind, filter=orjson.dumps(filter).decode())
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_INPUT", field)


async def test_the_contacts_export_leaves_removed_contacts_out(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme", external_ref="A1")
    await create_contact(api.session, account, "Ann")
    gone = await create_contact(api.session, account, "Bob")
    await remove_contact(api.session, actor=SYSTEM, contact_id=gone.id)
    await api.session.commit()
    response = await _csv(api.client, manager, "contacts")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["name"] for r in rows] == ["Ann"]


async def test_a_nul_in_a_lead_search_is_invalid_input(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    await create_lead(api.session, actor=SYSTEM, company="Lead Co")
    await api.session.commit()
    query = "query($s: String) { leads(filter: {search: $s}) { totalCount } }"
    result = await api.gql(query, {"s": "Lead\x00"}, caller=manager)
    (error,) = result["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["extensions"]["field"] == "filter.search"
    assert error["message"] == "filter.search must not contain NUL characters."
    found = await api.data(query, {"s": "Lead"}, caller=manager)
    assert found == {"leads": {"totalCount": 1}}
