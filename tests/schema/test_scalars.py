"""DateTime input: ISO-8601 with a zone, parsed by the standard library."""

from __future__ import annotations

import pytest

from app.models.auth import Role
from tests.support import Api

REPORT = """query($from: DateTime!, $to: DateTime!) {
  handoffReport(from: $from, to: $to) { handoffs }
}"""


async def test_datetime_with_z_or_offset_is_accepted(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    variables = {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00+02:00"}
    data = await api.data(REPORT, variables, caller=manager)
    assert data["handoffReport"]["handoffs"] == 0


async def test_datetime_without_zone_is_a_clear_error(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    variables = {"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"}
    result = await api.gql(REPORT, variables, caller=manager)
    assert result["data"] is None
    assert "has no zone" in result["errors"][0]["message"]
    assert "$from" in result["errors"][0]["message"]


async def test_datetime_that_is_not_iso_is_a_clear_error(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    variables = {"from": "yesterday", "to": "2026-02-01T00:00:00Z"}
    result = await api.gql(REPORT, variables, caller=manager)
    assert "is not an ISO-8601 date and time" in result["errors"][0]["message"]


async def test_datetime_outside_1900_to_2200_is_a_field_named_error(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    for bounds, field in [
        ({"from": "0001-01-01T00:00:00+14:00", "to": "2026-02-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00Z", "to": "9999-12-31T23:59:59-14:00"}, "to"),
        ({"from": "1899-12-31T23:59:59Z", "to": "2026-02-01T00:00:00Z"}, "from"),
    ]:
        result = await api.gql(REPORT, bounds, caller=manager)
        assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
            ("INVALID_INPUT", field)
        ]


@pytest.mark.parametrize(
    "literal", ['""', '"yesterday"', '"2026-13-01T00:00:00Z"', '"2026-01-01T00:00:00"']
)
async def test_a_bad_datetime_literal_is_a_validation_error_not_internal(
    api: Api, literal: str
) -> None:
    manager = await api.caller(Role.MANAGER)
    end = '"2026-01-01T00:00:00Z"'
    query = f"{{ stageThroughput(from: {literal}, to: {end}) {{ to }} }}"
    result = await api.gql(query, caller=manager)
    assert result.get("data") is None
    assert len(result["errors"]) == 1
    assert "INTERNAL" not in str(result)
    assert "DateTime" in result["errors"][0]["message"]
