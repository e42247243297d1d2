"""Every operation of contract/sync.graphql, as written, through the ASGI app, with known
answers: an integration syncs contacts by key, reads the feed, voids by its own key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import build_schema, parse, validate
from sqlalchemy import select

from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.kit.writers import yesterday
from tests.support import CONTRACT, Api, Caller

ROOT = Path(__file__).resolve().parents[2]


def test_the_operations_validate_against_the_published_schema() -> None:
    published = build_schema((ROOT / "schema" / "schema.graphql").read_text())
    document = parse((CONTRACT / "sync.graphql").read_text())
    assert [e.message for e in validate(published, document)] == []


async def _upsert(api: Api, erp: Caller, **item: Any) -> dict[str, Any]:
    variables = {
        "input": {"contacts": [{"externalRef": "C-1", "accountExternalRef": "ERP-7", **item}]}
    }
    payload: dict[str, Any] = (await api.op("UpsertContacts", variables, caller=erp))[
        "upsertContacts"
    ]
    return payload


async def test_upsert_contacts(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    created = await _upsert(api, erp, name="Ann", email="ann@acme.example")
    contact = {
        "id": to_global_id("Contact", 1),
        "externalRef": "C-1",
        "name": "Ann",
        "email": "ann@acme.example",
        "account": {"id": to_global_id("Account", account.id), "externalRef": "ERP-7"},
    }
    assert created == {
        "contacts": [contact],
        "createdCount": 1,
        "updatedCount": 0,
        "unchangedCount": 0,
        "rejected": [],
    }
    renamed = await _upsert(api, erp, name="Ann Smith")
    assert renamed == {
        **created,
        "contacts": [{**contact, "name": "Ann Smith"}],
        "createdCount": 0,
        "updatedCount": 1,
    }


async def test_event_feed(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    await _upsert(api, erp, name="Ann")
    rows = list(await api.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
    first = (await api.op("EventFeed", {"first": 1}, caller=erp))["events"]
    (edge,) = first["edges"]
    assert edge["node"] == {
        "id": f"evt_{rows[0].id}",
        "type": "account.created",
        "occurredAt": rows[0].created_at.isoformat(),
        "objectId": to_global_id("Account", account.id),
        "accountId": to_global_id("Account", account.id),
        "data": rows[0].data,
    }
    assert first["pageInfo"] == {"hasNextPage": True, "endCursor": edge["cursor"]}
    variables = {"after": edge["cursor"], "types": ["CONTACT_CREATED"]}
    rest = (await api.op("EventFeed", variables, caller=erp))["events"]
    (node,) = [e["node"] for e in rest["edges"]]
    assert (node["id"], node["type"], node["objectId"]) == (
        f"evt_{rows[1].id}",
        "contact.created",
        to_global_id("Contact", 1),
    )
    assert node["data"]["externalRef"] == "C-1"
    assert rest["pageInfo"] == {"hasNextPage": False, "endCursor": rest["edges"][0]["cursor"]}


# As an integration logs: it may not read the activity's user (issue 18).
LOG = """mutation($input: LogActivityInput!) {
  logActivity(input: $input) { activity { id account { id } } errors { code } }
}"""


async def test_void_by_source_key(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    item = {
        "kind": "INVOICE",
        "occurredAt": yesterday(),
        "accountExternalRef": "ERP-7",
        "source": "erp",
        "externalId": "INV-1",
        "amount": "120.00",
    }
    logged = (await api.data(LOG, {"input": item}, caller=erp))["logActivity"]
    activity_id = logged["activity"]["id"]
    assert logged["activity"]["account"] == {"id": to_global_id("Account", account.id)}
    variables = {"input": {"source": "erp", "externalId": "INV-1", "reason": "Credited"}}
    voided = (await api.op("VoidBySourceKey", variables, caller=erp))["voidActivity"]
    assert voided["errors"] == []
    assert voided["activity"]["id"] == activity_id
    assert voided["activity"]["voidedAt"] is not None
    unknown = {"input": {"source": "erp", "externalId": "INV-2", "reason": "Credited"}}
    refused = (await api.op("VoidBySourceKey", unknown, caller=erp))["voidActivity"]
    assert refused == {
        "activity": None,
        "errors": [
            {
                "code": "NOT_FOUND",
                "field": "externalId",
                "message": "No activity was sent with this source and externalId.",
            }
        ],
    }
