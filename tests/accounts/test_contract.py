"""Every operation of contract/accounts.graphql, run as written over HTTP."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account, create_contact
from tests.support import Api


async def test_viewer_is_the_token_owner(api: Api) -> None:
    rep = await api.caller(Role.REP, name="Rita Rep")
    data = await api.op("Viewer", caller=rep)
    assert data["viewer"] == {
        "id": rep.id,
        "email": "rep" + data["viewer"]["email"][3:],
        "name": "Rita Rep",
        "role": "REP",
    }


async def test_create_then_detail_round_trips_every_field(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    created = await api.op(
        "CreateAccount",
        {"input": {"name": "Parent Co", "classification": "A", "externalRef": "ERP-1"}},
        caller=admin,
    )
    parent = created["createAccount"]
    assert parent["errors"] == []
    assert parent["account"]["name"] == "Parent Co"
    assert parent["account"]["classification"] == "A"
    assert parent["account"]["version"] == 1
    assert parent["account"]["externalRef"] == "ERP-1"
    child_input = {
        "name": "Branch North",
        "industry": "Agriculture",
        "source": "REFERRAL",
        "phone": "+49 30 1234",
        "email": "north@example.org",
        "website": "https://north.example.org",
        "attributes": {"budget": 5000},
        "parentId": parent["account"]["id"],
        "address": {
            "street": "Hauptstr. 1",
            "city": "Berlin",
            "region": "BE",
            "postalCode": "10115",
            "countryCode": "de",
        },
    }
    child = (await api.op("CreateAccount", {"input": child_input}, caller=admin))["createAccount"]
    assert child["errors"] == []
    detail = (await api.op("AccountDetail", {"id": child["account"]["id"]}, caller=admin))["node"]
    assert detail["industry"] == "Agriculture"
    assert detail["source"] == "REFERRAL"
    assert detail["attributes"] == {"budget": 5000}
    assert detail["address"] == {
        "street": "Hauptstr. 1",
        "city": "Berlin",
        "region": "BE",
        "postalCode": "10115",
        "countryCode": "DE",
    }
    assert detail["parent"] == {"id": parent["account"]["id"], "name": "Parent Co"}
    assert detail["branches"] == {"totalCount": 0, "edges": []}
    assert detail["activities"] == {"totalCount": 0, "edges": []}
    parent_detail = (await api.op("AccountDetail", {"id": parent["account"]["id"]}, caller=admin))[
        "node"
    ]
    assert parent_detail["branches"]["totalCount"] == 1
    assert parent_detail["branches"]["edges"][0]["node"]["name"] == "Branch North"


async def test_account_list_pages_with_filter_and_cursor(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    for name, cls, country in [
        ("Beta", "B", "DE"),
        ("Alpha", "A", "DE"),
        ("Gamma", "A", "FR"),
        ("Delta", "A", "DE"),
    ]:
        await create_account(api.session, name, classification=cls, country_code=country)
    variables = {"first": 2, "filter": {"classification": ["A"], "countryCode": "DE"}}
    first = (await api.op("AccountList", variables, caller=admin))["accounts"]
    assert first["totalCount"] == 2
    assert [e["node"]["name"] for e in first["edges"]] == ["Alpha", "Delta"]
    assert first["pageInfo"]["hasNextPage"] is False
    page1 = (await api.op("AccountList", {"first": 2}, caller=admin))["accounts"]
    assert [e["node"]["name"] for e in page1["edges"]] == ["Alpha", "Beta"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = (
        await api.op(
            "AccountList", {"first": 2, "after": page1["pageInfo"]["endCursor"]}, caller=admin
        )
    )["accounts"]
    assert [e["node"]["name"] for e in page2["edges"]] == ["Delta", "Gamma"]
    assert page2["pageInfo"]["hasNextPage"] is False
    # Full-text search: words match by prefix, case-insensitively.
    search = (await api.op("AccountList", {"filter": {"search": "DEL"}}, caller=admin))["accounts"]
    assert [e["node"]["name"] for e in search["edges"]] == ["Delta"]


async def test_update_bumps_version_and_stale_version_conflicts(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    ok = (
        await api.op(
            "UpdateAccount",
            {
                "input": {
                    "id": gid,
                    "expectedVersion": 1,
                    "industry": "Mining",
                    "attributes": {"timeline": "Q3"},
                }
            },
            caller=manager,
        )
    )["updateAccount"]
    assert ok["errors"] == []
    assert ok["account"]["version"] == 2
    assert ok["account"]["industry"] == "Mining"
    assert ok["account"]["attributes"] == {"timeline": "Q3"}
    stale = (
        await api.op(
            "UpdateAccount",
            {"input": {"id": gid, "expectedVersion": 1, "name": "Other"}},
            caller=manager,
        )
    )["updateAccount"]
    assert stale["account"] is None
    assert [(e["code"], e["field"]) for e in stale["errors"]] == [("CONFLICT", "expectedVersion")]
    await api.session.refresh(account)
    assert account.name == "Acme"
    assert account.version == 2


async def test_archive_hides_account_from_default_list(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Gone")
    gid = to_global_id("Account", account.id)
    archived = (await api.op("ArchiveAccount", {"input": {"id": gid}}, caller=manager))[
        "archiveAccount"
    ]
    assert archived["errors"] == []
    assert archived["account"]["archivedAt"] is not None
    listed = (await api.op("AccountList", {}, caller=manager))["accounts"]
    assert listed["totalCount"] == 0
    with_archived = (
        await api.op("AccountList", {"filter": {"includeArchived": True}}, caller=manager)
    )["accounts"]
    assert with_archived["totalCount"] == 1


async def test_add_contact_with_buying_role(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    result = (
        await api.op(
            "AddContact",
            {"input": {"accountId": gid, "name": "Dora Decider", "buyingRole": "DECISION_MAKER"}},
            caller=integration,
        )
    )["addContact"]
    assert result["errors"] == []
    assert result["contact"]["buyingRole"] == "DECISION_MAKER"
    assert result["contact"]["account"] == {"id": gid}


async def test_create_user_as_admin(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    result = (
        await api.op(
            "CreateUser",
            {
                "input": {
                    "email": "new.rep@example.org",
                    "name": "New Rep",
                    "role": "REP",
                    "maxAccounts": 40,
                }
            },
            caller=admin,
        )
    )["createUser"]
    assert result["errors"] == []
    assert result["user"]["email"] == "new.rep@example.org"
    assert result["user"]["role"] == "REP"
    assert result["user"]["maxAccounts"] == 40


async def test_audit_log_records_who_changed_what(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    created = (await api.op("CreateAccount", {"input": {"name": "Audited"}}, caller=manager))[
        "createAccount"
    ]
    gid = created["account"]["id"]
    await api.op("UpdateAccount", {"input": {"id": gid, "name": "Audited Ltd"}}, caller=manager)
    await create_account(api.session, "Unrelated")
    log = (await api.op("AuditLog", {"entityId": gid}, caller=manager))["auditLog"]
    assert log["totalCount"] == 2
    update, create = (edge["node"] for edge in log["edges"])
    assert update["action"] == "account.update"
    assert update["entityType"] == "Account"
    assert update["entityId"] == gid
    assert update["changes"] == {"name": {"before": "Audited", "after": "Audited Ltd"}}
    assert update["actor"] == {"id": manager.id, "email": update["actor"]["email"]}
    assert update["requestId"]
    assert create["action"] == "account.create"
    assert create["changes"]["name"] == {"before": None, "after": "Audited"}


async def test_contacts_listed_on_the_account(api: Api) -> None:
    rep = await api.caller(Role.REP)
    account = await create_account(api.session, "Acme")
    await create_contact(api.session, account, "Ann")
    await create_contact(api.session, account, "Bob")
    data = await api.op("AccountList", {}, caller=rep)
    contacts = data["accounts"]["edges"][0]["node"]["contacts"]
    assert [c["name"] for c in contacts] == ["Ann", "Bob"]
    total = await api.session.scalar(select(func.count()).select_from(Account))
    assert total == 1
