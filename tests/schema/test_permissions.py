"""Role rules at the resolver boundary, through the one POLICY table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.assignments import Assignment, ManagerType
from app.models.audit import AuditEntry
from app.models.auth import Role, User
from schema import schema
from schema.permissions import POLICY
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api


def _root_resolvers() -> list[tuple[str, Any]]:
    found = []
    for type_name in ("Query", "Mutation"):
        definition = schema.get_type_by_name(type_name)
        assert definition is not None
        for field in definition.fields:  # type: ignore[union-attr]
            resolver = field.base_resolver.wrapped_func if field.base_resolver else None
            found.append((f"{type_name}.{field.name}", resolver))
    return found


@pytest.mark.parametrize(("name", "resolver"), _root_resolvers())
def test_every_root_field_names_a_policy_action(name: str, resolver: Any) -> None:
    action = getattr(resolver, "__accountflow_action__", None)
    assert action in POLICY, f"{name} is not guarded by schema.permissions"


async def _count(api: Api, model: type[Any]) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_rep_cannot_create_users_and_nothing_is_written(api: Api) -> None:
    rep = await api.caller(Role.REP)
    users, audits = await _count(api, User), await _count(api, AuditEntry)
    result = (
        await api.op(
            "CreateUser",
            {"input": {"email": "x@example.org", "name": "X", "role": "ADMIN"}},
            caller=rep,
        )
    )["createUser"]
    assert result["user"] is None
    assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await _count(api, User) == users
    assert await _count(api, AuditEntry) == audits


async def test_integration_creates_accounts_but_not_users(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    account = (await api.op("CreateAccount", {"input": {"name": "Synced"}}, caller=erp))[
        "createAccount"
    ]
    assert account["errors"] == []
    user = (
        await api.op(
            "CreateUser",
            {"input": {"email": "y@example.org", "name": "Y", "role": "REP"}},
            caller=erp,
        )
    )["createUser"]
    assert [e["code"] for e in user["errors"]] == ["FORBIDDEN"]


async def test_integration_cannot_read_the_audit_log_or_users(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    for query in ("{ auditLog { totalCount } }", "{ users { totalCount } }"):
        result = await api.gql(query, caller=erp)
        assert result["data"] is None
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_integration_cannot_read_users_through_node(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql("query($id: ID!) { node(id: $id) { id } }", {"id": erp.id}, caller=erp)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rep_writes_only_accounts_assigned_to_them(api: Api) -> None:
    rep = await api.caller(Role.REP)
    mine = await create_account(api.session, "Mine")
    theirs = await create_account(api.session, "Theirs")
    api.session.add(
        Assignment(
            account_id=mine.id,
            user_id=rep.user_id,
            manager_type=ManagerType.SALES,
            contact_frequency_days=30,
            started_at=func.now(),
        )
    )
    await api.session.commit()
    ok = (
        await api.op(
            "UpdateAccount",
            {"input": {"id": to_global_id("Account", mine.id), "industry": "Dairy"}},
            caller=rep,
        )
    )["updateAccount"]
    assert ok["errors"] == []
    denied = (
        await api.op(
            "UpdateAccount",
            {"input": {"id": to_global_id("Account", theirs.id), "industry": "Dairy"}},
            caller=rep,
        )
    )["updateAccount"]
    assert [e["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    await api.session.refresh(theirs)
    assert theirs.industry is None
    assert theirs.version == 1


async def test_rep_reads_all_accounts(api: Api) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Anyone's")
    data = await api.op("AccountList", {}, caller=rep)
    assert data["accounts"]["totalCount"] == 1
    assert await _count(api, Account) == 1
