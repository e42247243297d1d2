"""upsertContacts: contacts by (account, externalRef), batched, bad items rejected by index."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.accounts import contacts_upsert
from app.accounts.merge import merge_accounts
from app.kit.actor import SYSTEM
from app.models.accounts import Contact
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api, Caller


async def _upsert(api: Api, caller: Caller, *items: dict[str, Any]) -> dict[str, Any]:
    variables = {"input": {"contacts": list(items)}}
    payload: dict[str, Any] = (await api.op("UpsertContacts", variables, caller=caller))[
        "upsertContacts"
    ]
    return payload


def _counts(payload: dict[str, Any]) -> tuple[int, int, int]:
    return payload["createdCount"], payload["updatedCount"], payload["unchangedCount"]


async def _events(api: Api) -> list[tuple[str, list[str] | None]]:
    query = select(OutboxEvent.type, OutboxEvent.data).where(OutboxEvent.type.like("contact.%"))
    rows = await api.session.execute(query.order_by(OutboxEvent.id))
    return [(kind, data.get("changed")) for kind, data in rows]


async def test_creates_then_changes_only_what_is_sent_and_a_retry_changes_nothing(
    api: Api,
) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    ann = {"externalRef": "C-1", "accountExternalRef": "ERP-7", "name": "Ann"}
    created = await _upsert(api, erp, {**ann, "email": "ann@acme.example"})
    assert (_counts(created), created["rejected"]) == ((1, 0, 0), [])
    (contact,) = created["contacts"]
    assert contact["externalRef"] == "C-1"
    assert contact["account"] == {"id": to_global_id("Account", account.id), "externalRef": "ERP-7"}
    by_id = {"externalRef": "C-1", "accountId": to_global_id("Account", account.id)}
    updated = await _upsert(api, erp, {**by_id, "title": "CFO"})
    assert _counts(updated) == (0, 1, 0)
    assert updated["contacts"] == [{**contact, "name": "Ann", "email": "ann@acme.example"}]
    assert _counts(await _upsert(api, erp, {**by_id, "title": "CFO"})) == (0, 0, 1)
    row = (await api.session.scalars(select(Contact))).one()
    assert (row.name, row.title, row.email) == ("Ann", "CFO", "ann@acme.example")
    assert await _events(api) == [("contact.created", None), ("contact.updated", ["title"])]


async def test_one_key_on_two_accounts_is_two_contacts(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    for ref in ("A-1", "A-2"):
        await create_account(api.session, ref, external_ref=ref)
    items = [{"externalRef": "C-1", "accountExternalRef": r, "name": "Ann"} for r in ("A-1", "A-2")]
    assert _counts(await _upsert(api, manager, *items)) == (2, 0, 0)


async def test_a_merged_duplicates_ref_names_its_survivor(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    survivor = await create_account(api.session, "Survivor", external_ref="S-1")
    duplicate = await create_account(api.session, "Duplicate", external_ref="D-1")
    await merge_accounts(
        api.session, actor=SYSTEM, survivor_id=survivor.id, duplicate_id=duplicate.id
    )
    await api.session.commit()
    item = {"externalRef": "C-1", "accountExternalRef": "D-1", "name": "Ann"}
    (contact,) = (await _upsert(api, erp, item))["contacts"]
    assert contact["account"]["id"] == to_global_id("Account", survivor.id)
    merged_id = {
        **item,
        "accountExternalRef": None,
        "accountId": to_global_id("Account", duplicate.id),
    }
    payload = await _upsert(api, erp, merged_id)
    assert payload["rejected"][0]["errors"][0]["field"] == "accountId"


async def test_bad_items_are_rejected_by_index_and_the_others_stored(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme", external_ref="ERP-7")
    good: dict[str, Any] = {"externalRef": "C-1", "accountExternalRef": "ERP-7", "name": "Ann"}
    items: list[dict[str, Any]] = [
        {**good, "accountExternalRef": "NOPE"},
        {**good, "accountId": to_global_id("Account", account.id)},
        {"externalRef": "C-2", "name": "Bob"},
        {**good, "externalRef": "C-3", "name": None},
        good,
        {**good, "email": "not an email"},
        {**good, "name": "Ann again"},
        {**good, "accountExternalRef": None, "accountId": "!"},
    ]
    payload = await _upsert(api, erp, *items)
    rejected = [
        (r["index"], [(e["code"], e["field"]) for e in r["errors"]]) for r in payload["rejected"]
    ]
    assert rejected == [
        (0, [("NOT_FOUND", "accountExternalRef")]),
        (1, [("INVALID_INPUT", "accountId")]),
        (2, [("INVALID_INPUT", "accountId")]),
        (3, [("INVALID_INPUT", "name")]),
        (5, [("INVALID_INPUT", "email")]),
        (6, [("INVALID_INPUT", "externalRef")]),
        (7, [("INVALID_ID", "accountId")]),
    ]
    assert _counts(payload) == (1, 0, 0)
    assert [c["name"] for c in payload["contacts"]] == ["Ann"]
    assert await api.session.scalar(select(func.count()).select_from(Contact)) == 1


async def test_a_new_contact_needs_a_name(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Acme", external_ref="ERP-7")
    payload = await _upsert(api, erp, {"externalRef": "C-1", "accountExternalRef": "ERP-7"})
    assert payload["rejected"] == [
        {
            "index": 0,
            "errors": [
                {"code": "INVALID_INPUT", "field": "name", "message": "A new contact needs a name."}
            ],
        }
    ]
    assert await _events(api) == []


WHOLE_CALL = """mutation($input: UpsertContactsInput!) {
  upsertContacts(input: $input) { createdCount errors { code field } }
}"""


async def test_a_rep_may_not_and_an_empty_batch_is_refused(api: Api) -> None:
    rep, erp = await api.caller(Role.REP), await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Acme", external_ref="ERP-7")
    item = {"externalRef": "C-1", "accountExternalRef": "ERP-7", "name": "Ann"}
    for caller, items, code, field in (
        (rep, [item], "FORBIDDEN", None),
        (erp, [], "INVALID_INPUT", "contacts"),
    ):
        data = await api.data(WHOLE_CALL, {"input": {"contacts": items}}, caller=caller)
        assert data["upsertContacts"] == {
            "createdCount": 0,
            "errors": [{"code": code, "field": field}],
        }
    assert await _events(api) == []


async def test_a_removed_contacts_key_makes_a_new_contact(api: Api) -> None:
    erp, manager = await api.caller(Role.INTEGRATION), await api.caller(Role.MANAGER)
    await create_account(api.session, "Acme", external_ref="ERP-7")
    item = {"externalRef": "C-1", "accountExternalRef": "ERP-7", "name": "Ann"}
    (first,) = (await _upsert(api, erp, item))["contacts"]
    removed = await api.op("RemoveContact", {"input": {"id": first["id"]}}, caller=manager)
    assert removed["removeContact"]["errors"] == []
    again = await _upsert(api, erp, item)
    assert _counts(again) == (1, 0, 0)
    assert again["contacts"][0]["id"] != first["id"]
    removal = (
        await api.session.scalars(
            select(OutboxEvent.data).where(OutboxEvent.type == "contact.removed")
        )
    ).one()
    assert removal["externalRef"] == "C-1"


async def test_merging_accounts_whose_contacts_share_a_key_keeps_the_survivors(api: Api) -> None:
    erp, manager = await api.caller(Role.INTEGRATION), await api.caller(Role.MANAGER)
    survivor = await create_account(api.session, "Survivor", external_ref="S-1")
    duplicate = await create_account(api.session, "Duplicate", external_ref="D-1")
    items = [{"externalRef": "C-1", "accountExternalRef": r, "name": r} for r in ("S-1", "D-1")]
    await _upsert(api, erp, *items)
    ids = {
        "survivorId": to_global_id("Account", survivor.id),
        "duplicateId": to_global_id("Account", duplicate.id),
    }
    merged = (await api.op("MergeAccounts", {"input": ids}, caller=manager))["mergeAccounts"]
    assert (merged["errors"], merged["movedCounts"]["contacts"]) == ([], 1)
    rows = await api.session.execute(
        select(Contact.name, Contact.external_ref).order_by(Contact.id)
    )
    assert [tuple(r) for r in rows] == [("S-1", "C-1"), ("D-1", None)]
    assert (await _events(api))[-1] == ("contact.updated", ["account_id", "external_ref"])


async def test_two_calls_racing_on_one_key_make_one_contact(api: Api, engine: AsyncEngine) -> None:
    await create_account(api.session, "Acme", external_ref="ERP-7")
    maker = db.create_sessionmaker(engine)

    async def upsert(name: str) -> contacts_upsert.ContactUpsertResult:
        item = contacts_upsert.ContactItem("C-1", {"name": name}, account_external_ref="ERP-7")
        async with maker() as session:
            result = await contacts_upsert.upsert_contacts(
                session, actor=SYSTEM, items=[item], max_batch=10
            )
            await asyncio.sleep(0.2)  # hold the key while the other call arrives
            await session.commit()
            return result

    first, second = await asyncio.gather(upsert("Ann"), upsert("Anna"))
    assert sorted([first.created_count, second.created_count]) == [0, 1]
    assert first.rejected == second.rejected == []
    assert await api.session.scalar(select(func.count()).select_from(Contact)) == 1
