"""Hostile activity input: each bad item is rejected by its index, never the whole batch."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from app.models.activities import Activity
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api

WHEN = "2026-03-01T09:00:00+00:00"
BC = "0001-01-01T00:00:00+14:00"  # year 0 in UTC: the driver cannot encode it
HUGE_ID = base64.b64encode(b"Account:" + b"9" * 40).decode()


async def stored(api: Api) -> list[tuple[str | None, str | None]]:
    rows = await api.session.execute(
        select(Activity.external_id, Activity.summary).order_by(Activity.id)
    )
    return [(r.external_id, r.summary) for r in rows]


def bad_items(account_gid: str) -> list[tuple[dict[str, Any], str]]:
    """(item fields, the field named by its error); each item also has a unique key."""
    return [
        ({"summary": "nul\x00here"}, "summary"),
        ({"accountId": None, "accountExternalRef": "ERP\x00"}, "accountExternalRef"),
        ({"userEmail": "a\x00@example.org"}, "userEmail"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "-Infinity"}, "amount"),
        ({"amount": "sNaN"}, "amount"),
        ({"amount": "1e999999999"}, "amount"),
        ({"amount": "1e-999999999"}, "amount"),
        ({"occurredAt": BC}, "occurredAt"),
        ({"occurredAt": "2201-01-01T00:00:00Z"}, "occurredAt"),
        ({"occurredAt": "1899-12-31T23:00:00-02:00"}, "occurredAt"),
        ({"accountId": HUGE_ID}, "accountId"),
        ({"accountId": "%%%"}, "accountId"),
        ({"contactId": base64.b64encode(b"Contact:1:2").decode()}, "contactId"),
        ({"userId": base64.b64encode(b"User:1_0").decode()}, "userId"),
    ]


CODES = {"accountId": "INVALID_ID", "contactId": "INVALID_ID", "userId": "INVALID_ID"}


def batch(account_gid: str) -> tuple[list[dict[str, Any]], dict[int, list[tuple[str, str]]]]:
    base = {"accountId": account_gid, "kind": "CALL_OUTBOUND", "occurredAt": WHEN}
    items: list[dict[str, Any]] = [{**base, "source": "t", "externalId": "good-0"}]
    expected: dict[int, list[tuple[str, str]]] = {}
    for n, (fields, field) in enumerate(bad_items(account_gid), start=1):
        items.append({**base, "source": "t", "externalId": f"bad-{n}", **fields})
        expected[len(items) - 1] = [(CODES.get(field, "INVALID_INPUT"), field)]
    items.append({**base, "source": "t", "externalId": "good-1", "summary": "fine"})
    return items, expected


def rejected(result: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    return {r["index"]: [(e["code"], e["field"]) for e in r["errors"]] for r in result["rejected"]}


async def test_bad_items_in_variables_are_rejected_by_index(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    items, expected = batch(to_global_id("Account", account.id))
    result = (await api.op("LogActivities", {"input": {"activities": items}}, caller=integration))[
        "logActivities"
    ]
    assert rejected(result) == expected
    assert result["acceptedCount"] == 2
    assert await stored(api) == [("good-0", None), ("good-1", "fine")]


def literal(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if value is None:
        return "null"
    if value == "CALL_OUTBOUND":
        return "CALL_OUTBOUND"
    return str(orjson.dumps(value).decode())


async def test_bad_items_as_inline_literals_are_rejected_by_index(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    items, expected = batch(to_global_id("Account", account.id))
    query = (
        "mutation { logActivities(input: {activities: " + literal(items) + "}) {"
        " acceptedCount duplicateCount rejected { index errors { code field } } } }"
    )
    result = (await api.data(query, caller=integration))["logActivities"]
    assert rejected(result) == expected
    assert result["acceptedCount"] == 2
    assert await stored(api) == [("good-0", None), ("good-1", "fine")]


@pytest.mark.parametrize(("fields", "field"), bad_items("unused"))
async def test_a_bad_single_activity_is_a_field_named_error(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    item = {"accountId": to_global_id("Account", account.id), "kind": "NOTE", "occurredAt": WHEN}
    result = (await api.op("LogActivity", {"input": {**item, **fields}}, caller=integration))[
        "logActivity"
    ]
    assert result["activity"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        (CODES.get(field, "INVALID_INPUT"), field)
    ]
    assert await stored(api) == []


async def test_an_inline_out_of_range_date_on_a_single_activity_names_the_field(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    query = (
        f'mutation {{ logActivity(input: {{accountId: "{gid}", kind: NOTE, occurredAt: "{BC}",'
        ' amount: "Infinity"}) { activity { id } errors { code field message } } }'
    )
    result = (await api.data(query, caller=integration))["logActivity"]
    assert sorted((e["code"], e["field"]) for e in result["errors"]) == [
        ("INVALID_INPUT", "amount"),
        ("INVALID_INPUT", "occurredAt"),
    ]
    assert await stored(api) == []


async def test_boundary_years_are_accepted(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    items = [
        {"accountId": gid, "kind": "NOTE", "occurredAt": "1900-01-01T12:00:00+00:00"},
        {"accountId": gid, "kind": "NOTE", "occurredAt": datetime.now(UTC).isoformat()},
    ]
    result = (await api.op("LogActivities", {"input": {"activities": items}}, caller=integration))[
        "logActivities"
    ]
    assert result == {"acceptedCount": 2, "duplicateCount": 0, "rejected": []}
    count = await api.session.scalar(select(func.count()).select_from(Activity))
    assert count == 2
