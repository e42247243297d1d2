"""API tokens through the ASGI app: mint once, list, revoke by id, expiry, last use."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import tokens
from app.models.audit import AuditEntry
from app.models.auth import ApiToken, Role
from schema import schema
from schema.permissions import ALL, POLICY, STAFF, field_action
from schema.relay import to_global_id
from tests.support import Api, Caller, contract_operations

VIEWER = "{ viewer { id } }"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _status(api: Api, token: str) -> int:
    response = await api.client.post("/graphql", json={"query": VIEWER}, headers=_bearer(token))
    return response.status_code


async def _create(api: Api, caller: Caller, user: Caller, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"userId": user.id, "name": "ci", **extra}}
    result: dict[str, Any] = (await api.op("CreateApiToken", variables, caller=caller))[
        "createApiToken"
    ]
    return result


async def _count(api: Api, model: type[Any]) -> int:
    return int(await api.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_admin_mints_a_token_for_a_user_shown_once_and_stored_hashed(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    created = await _create(api, admin, rep, expiresAt=expires.isoformat())
    assert created["errors"] == []
    token, node = created["token"], created["apiToken"]
    assert token.startswith("af_")
    assert node["name"] == "ci"
    assert node["user"] == {"id": rep.id}
    assert node["lastUsedAt"] is None
    assert datetime.fromisoformat(node["expiresAt"]) == expires
    assert datetime.fromisoformat(node["createdAt"]) <= datetime.now(UTC)
    stored = await api.session.scalar(select(ApiToken.token_hash).where(ApiToken.name == "ci"))
    assert stored is not None
    assert token not in stored
    assert await _status(api, token) == 200
    listed = (await api.op("ApiTokens", {"userId": rep.id}, caller=admin))["apiTokens"]
    assert "token" not in listed[0]
    assert all(token not in str(value) for value in listed[0].values())


async def test_a_rep_mints_and_lists_only_their_own_tokens(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    own = await _create(api, rep, rep)
    assert own["errors"] == []
    before = await _count(api, ApiToken)
    foreign = await _create(api, rep, other)
    assert [e["code"] for e in foreign["errors"]] == ["FORBIDDEN"]
    assert foreign["token"] is None
    assert await _count(api, ApiToken) == before
    mine = (await api.op("ApiTokens", {}, caller=rep))["apiTokens"]
    assert [t["name"] for t in mine] == ["ci", None]  # newest first: minted, then the caller's
    assert {t["user"]["id"] for t in mine} == {rep.id}
    result = await api.gql(
        "query($u: ID) { apiTokens(userId: $u) { id } }", {"u": other.id}, caller=rep
    )
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_integration_never_mints_tokens(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    before = await _count(api, ApiToken)
    result = await _create(api, erp, erp)
    assert [e["code"] for e in result["errors"]] == ["FORBIDDEN"]
    assert await _count(api, ApiToken) == before


async def test_expiry_in_the_past_is_a_user_error_and_nothing_is_written(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    before, audits = await _count(api, ApiToken), await _count(api, AuditEntry)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    result = await _create(api, admin, admin, expiresAt=past)
    assert result["token"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("INVALID_INPUT", "expiresAt")]
    far = await _create(api, admin, admin, expiresAt="2300-01-01T00:00:00Z")
    assert [(e["code"], e["field"]) for e in far["errors"]] == [("INVALID_INPUT", "expiresAt")]
    blank = await api.op(
        "CreateApiToken", {"input": {"userId": admin.id, "name": " "}}, caller=admin
    )
    assert [e["field"] for e in blank["createApiToken"]["errors"]] == ["name"]
    assert (await _count(api, ApiToken), await _count(api, AuditEntry)) == (before, audits)


async def test_unknown_user_is_not_found(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    result = await api.op(
        "CreateApiToken",
        {"input": {"userId": to_global_id("User", 987654), "name": "x"}},
        caller=admin,
    )
    errors = result["createApiToken"]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", "userId")]


async def test_an_expired_token_answers_401_on_graphql_and_metrics(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    token = (await _create(api, admin, admin, expiresAt=soon))["token"]
    assert await _status(api, token) == 200
    assert (await api.client.get("/metrics", headers=_bearer(token))).status_code == 200
    await api.session.execute(
        update(ApiToken)
        .where(ApiToken.name == "ci")
        .values(expires_at=func.now() - text("interval '1 second'"))
    )
    await api.session.commit()
    await asyncio.sleep(tokens.principal_cache.seconds)  # changed elsewhere: within a second
    response = await api.client.post("/graphql", json={"query": VIEWER}, headers=_bearer(token))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await api.client.get("/metrics", headers=_bearer(token))).status_code == 401
    assert await _status(api, admin.token) == 200


async def test_revoke_by_id_stops_the_token_at_once_and_is_audited(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    created = await _create(api, admin, rep)
    token, token_id = created["token"], created["apiToken"]["id"]
    assert await _status(api, token) == 200
    revoked = (await api.op("RevokeApiToken", {"input": {"id": token_id}}, caller=admin))[
        "revokeApiToken"
    ]
    assert revoked["errors"] == []
    assert revoked["apiToken"]["id"] == token_id
    revoked_at = revoked["apiToken"]["revokedAt"]
    assert datetime.fromisoformat(revoked_at) <= datetime.now(UTC)
    assert await _status(api, token) == 401
    assert (await api.client.get("/metrics", headers=_bearer(token))).status_code == 401
    assert await _status(api, rep.token) == 200  # the user's other token still works
    again = (await api.op("RevokeApiToken", {"input": {"id": token_id}}, caller=admin))[
        "revokeApiToken"
    ]
    assert again["apiToken"]["revokedAt"] == revoked_at
    audited = select(AuditEntry.action).where(AuditEntry.entity_type == "ApiToken")
    actions = await api.session.scalars(audited.order_by(AuditEntry.id))
    assert list(actions)[-2:] == ["token.create", "token.revoke"]
    listed = (await api.op("ApiTokens", {"userId": rep.id}, caller=rep))["apiTokens"]
    assert [t["revokedAt"] for t in listed] == [revoked_at, None]
    assert listed[0]["id"] == token_id


async def test_a_user_revokes_their_own_token_but_not_anothers(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    erp = await api.caller(Role.INTEGRATION)
    other_token = (await api.op("ApiTokens", {}, caller=other))["apiTokens"][0]["id"]
    refused = (await api.op("RevokeApiToken", {"input": {"id": other_token}}, caller=rep))[
        "revokeApiToken"
    ]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", "id")]
    assert await _status(api, other.token) == 200
    own = (await api.gql("{ apiTokens { id } }", caller=erp))["data"]["apiTokens"][0]["id"]
    done = (await api.op("RevokeApiToken", {"input": {"id": own}}, caller=erp))["revokeApiToken"]
    assert done["errors"] == []
    assert await _status(api, erp.token) == 401


async def test_a_token_reads_through_node_only_for_its_owner_or_an_admin(api: Api) -> None:
    admin, rep, other = (
        await api.caller(Role.ADMIN),
        await api.caller(Role.REP),
        await api.caller(Role.REP),
    )
    token_id = (await api.op("ApiTokens", {}, caller=rep))["apiTokens"][0]["id"]
    query = "query($id: ID!) { node(id: $id) { ... on ApiToken { id user { id } } } }"
    assert (await api.data(query, {"id": token_id}, caller=rep))["node"] == {
        "id": token_id,
        "user": {"id": rep.id},
    }
    assert (await api.data(query, {"id": token_id}, caller=admin))["node"]["id"] == token_id
    assert (await api.data(query, {"id": token_id}, caller=other))["node"] is None


async def _last_used(api: Api, caller: Caller) -> datetime | None:
    return await api.session.scalar(
        select(ApiToken.last_used_at).where(ApiToken.user_id == caller.user_id)
    )


async def test_last_use_is_stamped_at_most_once_a_minute(api: Api) -> None:
    rep = await api.caller(Role.REP)
    assert await _last_used(api, rep) is None
    assert await _status(api, rep.token) == 200
    first = await _last_used(api, rep)
    assert first is not None
    assert await _status(api, rep.token) == 200
    assert await _last_used(api, rep) == first  # within the minute: no write
    await api.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == rep.user_id)
        .values(last_used_at=func.now() - text("interval '61 seconds'"))
    )
    await api.session.commit()
    tokens.principal_cache.clear()  # a minute on: the cached principal is long gone
    stale = await _last_used(api, rep)
    assert stale is not None
    # Any endpoint stamps the use, even one the role may not call (authorization comes after).
    assert (await api.client.get("/metrics", headers=_bearer(rep.token))).status_code == 403
    latest = await _last_used(api, rep)
    assert latest is not None
    assert latest > stale
    listed = (await api.op("ApiTokens", {}, caller=rep))["apiTokens"]
    assert datetime.fromisoformat(listed[0]["lastUsedAt"]) == latest


async def test_a_failed_mutation_still_counts_as_a_use(api: Api) -> None:
    rep = await api.caller(Role.REP)
    result = await api.op("CreateApiToken", {"input": {"userId": rep.id, "name": ""}}, caller=rep)
    assert result["createApiToken"]["errors"][0]["field"] == "name"
    assert await _last_used(api, rep) is not None


async def test_stamping_the_last_use_never_waits_for_a_locked_token(
    api: Api, engine: AsyncEngine
) -> None:
    rep = await api.caller(Role.REP)
    async with engine.connect() as other:
        locked = select(ApiToken.id).where(ApiToken.user_id == rep.user_id).with_for_update()
        await other.execute(locked)
        assert await asyncio.wait_for(_status(api, rep.token), timeout=20) == 200
        await other.rollback()
    assert await _last_used(api, rep) is None  # skipped, stamped by a later request
    assert await _status(api, rep.token) == 200
    assert await _last_used(api, rep) is not None


TOKEN_FIELDS: dict[str, frozenset[Role]] = {
    "ApiToken.name": ALL,
    "ApiToken.lastUsedAt": ALL,
    "ApiToken.user": STAFF,
    "CreateApiTokenPayload.token": ALL,
    "CreateApiTokenPayload.apiToken": ALL,
    "ApiTokenPayload.apiToken": ALL,
}


@pytest.mark.parametrize(("key", "roles"), TOKEN_FIELDS.items(), ids=list(TOKEN_FIELDS))
def test_each_role_reads_token_fields_as_the_table_says(key: str, roles: frozenset[Role]) -> None:
    type_name, _, name = key.partition(".")
    type_ = schema._schema.type_map[type_name]
    assert isinstance(type_, GraphQLObjectType)
    assert POLICY[field_action(type_, name, type_.fields[name])].roles == roles


async def test_an_integration_lists_its_tokens_but_not_the_people_behind_them(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    result = await api.gql(contract_operations()["ApiTokens"], {}, caller=erp)
    assert {e["extensions"]["code"] for e in result["errors"]} == {"FORBIDDEN"}
    assert {tuple(e["path"][-2:]) for e in result["errors"]} == {(0, "user")}
    assert "@example.org" not in str(result)
    plain = await api.data("{ apiTokens { name revokedAt } }", caller=erp)
    assert plain == {"apiTokens": [{"name": None, "revokedAt": None}]}
