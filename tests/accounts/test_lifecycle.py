"""Tags, restore, contacts edited and removed, the contacts list: over HTTP."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.models.accounts import Account, BuyingRole, Contact
from app.models.audit import AuditEntry
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.support import Api, Caller


def _errors(payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


async def _tags(api: Api, caller: Caller, account: Account, **changes: Any) -> dict[str, Any]:
    variables = {"input": {"accountId": to_global_id("Account", account.id), **changes}}
    result: dict[str, Any] = (await api.op("SetAccountTags", variables, caller=caller))[
        "setAccountTags"
    ]
    return result


async def test_tags_are_normalised_and_bad_tags_write_nothing(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Tagged")
    ok = await _tags(api, manager, account, add=[" VIP ", "vip", "North"])
    assert ok["errors"] == []
    assert ok["account"]["tags"] == ["vip", "north"]
    assert ok["account"]["version"] == 2
    same = await _tags(api, manager, account, add=["NORTH"])
    assert same["account"]["version"] == 2
    removed = await _tags(api, manager, account, remove=["Vip"], add=["south"])
    assert removed["account"]["tags"] == ["north", "south"]
    for bad in ([" "], ["x" * 41]):
        failed = await _tags(api, manager, account, add=bad)
        assert _errors(failed) == [("INVALID_INPUT", "add")]
        assert failed["account"] is None
    too_many = await _tags(api, manager, account, add=[f"t{n}" for n in range(49)])
    assert _errors(too_many) == [("INVALID_INPUT", "add")]
    account_id = account.id
    api.session.expire_all()
    stored = await api.session.get(Account, account_id)
    assert stored is not None
    assert (stored.tags, stored.version) == (["north", "south"], 3)
    missing = await api.op(
        "SetAccountTags",
        {"input": {"accountId": to_global_id("Account", 999999), "add": ["a"]}},
        caller=manager,
    )
    assert _errors(missing["setAccountTags"]) == [("NOT_FOUND", "accountId")]


async def test_restore_brings_an_archived_account_back(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Gone")
    gid = to_global_id("Account", account.id)
    archived = await api.op("ArchiveAccount", {"input": {"id": gid}}, caller=manager)
    assert archived["archiveAccount"]["account"]["archivedAt"] is not None
    restored = (await api.op("RestoreAccount", {"input": {"id": gid}}, caller=manager))[
        "restoreAccount"
    ]
    assert restored["errors"] == []
    assert restored["account"]["archivedAt"] is None
    assert restored["account"]["version"] == 3
    page = await api.op("AccountSearch", {"filter": {"search": "gone"}}, caller=manager)
    assert page["accounts"]["totalCount"] == 1
    unknown = await api.op(
        "RestoreAccount", {"input": {"id": to_global_id("Account", 424242)}}, caller=manager
    )
    assert _errors(unknown["restoreAccount"]) == [("NOT_FOUND", "id")]
    rep = await api.caller(Role.REP)
    forbidden = await api.op("RestoreAccount", {"input": {"id": gid}}, caller=rep)
    assert _errors(forbidden["restoreAccount"]) == [("FORBIDDEN", None)]


async def test_update_contact_changes_only_what_is_sent(api: Api) -> None:
    rep = await api.caller(Role.ADMIN)
    account = await create_account(api.session, "Acme")
    other = await create_account(api.session, "Other")
    contact = await create_contact(api.session, account, "Ann", BuyingRole.USER)
    gid = to_global_id("Contact", contact.id)
    result = (
        await api.op(
            "UpdateContact",
            {
                "input": {
                    "id": gid,
                    "title": "CFO",
                    "email": "ann@acme.example",
                    "buyingRole": "DECISION_MAKER",
                }
            },
            caller=rep,
        )
    )["updateContact"]
    assert result["errors"] == []
    assert result["contact"] == {
        "id": gid,
        "name": "Ann",
        "title": "CFO",
        "email": "ann@acme.example",
        "phone": None,
        "buyingRole": "DECISION_MAKER",
    }
    moved = await api.op(
        "UpdateContact",
        {"input": {"id": gid, "accountId": to_global_id("Account", other.id), "title": None}},
        caller=rep,
    )
    assert moved["updateContact"]["contact"]["title"] is None
    bad = await api.op(
        "UpdateContact", {"input": {"id": gid, "name": " ", "email": "nope"}}, caller=rep
    )
    assert sorted(_errors(bad["updateContact"])) == [
        ("INVALID_INPUT", "email"),
        ("INVALID_INPUT", "name"),
    ]
    ids = (contact.id, other.id)
    api.session.expire_all()
    stored = await api.session.get(Contact, ids[0])
    assert stored is not None
    assert (stored.name, stored.account_id, stored.title) == ("Ann", ids[1], None)


async def test_removed_contacts_vanish_from_lists_but_stay_in_history(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    account = await create_account(api.session, "Acme")
    ann = await create_contact(api.session, account, "Ann Smith", BuyingRole.DECISION_MAKER)
    await create_contact(api.session, account, "Bob Smith", BuyingRole.USER)
    listed = await api.op("Contacts", {"filter": {"search": "smith"}}, caller=admin)
    assert [e["node"]["name"] for e in listed["contacts"]["edges"]] == ["Ann Smith", "Bob Smith"]
    assert listed["contacts"]["edges"][0]["node"]["account"] == {
        "id": to_global_id("Account", account.id),
        "name": "Acme",
    }
    roles = await api.op(
        "Contacts",
        {
            "filter": {
                "buyingRole": ["DECISION_MAKER"],
                "accountId": to_global_id("Account", account.id),
            }
        },
        caller=admin,
    )
    assert roles["contacts"]["totalCount"] == 1
    gid = to_global_id("Contact", ann.id)
    removed = await api.op("RemoveContact", {"input": {"id": gid}}, caller=admin)
    assert removed["removeContact"] == {"removedId": gid, "errors": []}
    again = await api.op("RemoveContact", {"input": {"id": gid}}, caller=admin)
    assert _errors(again["removeContact"]) == [("NOT_FOUND", "id")]
    listed = await api.op("Contacts", {"first": 10}, caller=admin)
    assert [e["node"]["name"] for e in listed["contacts"]["edges"]] == ["Bob Smith"]
    assert listed["contacts"]["pageInfo"]["hasNextPage"] is False
    search = await api.op("AccountSearch", {"filter": {"search": "ann"}}, caller=admin)
    assert search["accounts"]["totalCount"] == 0
    assert await api.session.scalar(select(func.count()).select_from(Contact)) == 2
    audits = await api.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "contact.remove")
    )
    assert audits == 1
