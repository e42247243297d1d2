"""Account filters by region, city (ignoring case) and postal code prefix (issue 21): the
same answers on the compiled path, the strawberry path and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from app.models.auth import Role
from tests.accounts.factories import create_account
from tests.support import Api, Caller

FORWARD = "query($f: AccountFilter) { accounts(first: 10, filter: $f) { edges { node { name } } } }"
BACKWARD = "query($f: AccountFilter) { accounts(last: 10, filter: $f) { edges { node { name } } } }"
CASES = [
    ({"region": "bavaria"}, ["Alpen", "Isar"]),
    ({"region": " Bavaria "}, ["Alpen", "Isar"]),
    ({"city": "MÜNCHEN"}, ["Isar"]),
    ({"postalCodePrefix": "80"}, ["Isar", "Spree"]),
    ({"postalCodePrefix": "sw1"}, ["Thames"]),
    ({"postalCodePrefix": "8033"}, ["Isar"]),
    ({"region": "Bavaria", "postalCodePrefix": "80"}, ["Isar"]),
    ({"city": "Nowhere"}, []),
    ({"postalCodePrefix": ""}, ["Alpen", "Isar", "Spree", "Thames", "Void"]),
]


async def arrange(api: Api) -> Caller:
    accounts: list[tuple[str, dict[str, Any]]] = [
        ("Alpen", {"region": "Bavaria", "city": "Garmisch", "postal_code": "82467"}),
        ("Isar", {"region": "BAVARIA", "city": "München", "postal_code": "80331"}),
        ("Spree", {"region": "Berlin", "city": "Berlin", "postal_code": "80999"}),
        ("Thames", {"region": "London", "city": "London", "postal_code": "SW1A 1AA"}),
        ("Void", {}),
    ]
    for name, address in accounts:
        await create_account(api.session, name, **address)
    return await api.caller(Role.MANAGER)


def names(result: dict[str, Any]) -> list[str]:
    return [e["node"]["name"] for e in result["data"]["accounts"]["edges"]]


@pytest.mark.parametrize(("given", "expected"), CASES)
async def test_both_read_paths_filter_by_address(
    api: Api, given: dict[str, str], expected: list[str]
) -> None:
    manager = await arrange(api)
    for query, executor in ((FORWARD, "compiled"), (BACKWARD, "graphql")):
        response = await api.post(query, {"f": given}, caller=manager)
        assert response.status_code == 200, response.text
        assert (response.headers["x-accountflow-executor"] == "compiled") is (
            executor == "compiled"
        )
        assert "errors" not in response.json(), response.text
        assert names(response.json()) == expected, (executor, given)


async def test_the_csv_export_takes_the_same_filters(api: Api) -> None:
    manager = await arrange(api)
    headers = {"Authorization": f"Bearer {manager.token}"}
    for given, expected in CASES[:7]:
        filter = json.dumps(given)
        response = await api.client.get(
            "/export/accounts.csv", params={"filter": filter}, headers=headers
        )
        assert response.status_code == 200, response.text
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert sorted(r["name"] for r in rows) == expected, given


async def test_a_nul_in_a_filter_is_invalid_input(api: Api) -> None:
    manager = await arrange(api)
    result = await api.gql(FORWARD, {"f": {"postalCodePrefix": "8\x00"}}, caller=manager)
    codes = [(e["extensions"]["code"], e["extensions"].get("field")) for e in result["errors"]]
    assert codes == [("INVALID_INPUT", "filter.postalCodePrefix")]
