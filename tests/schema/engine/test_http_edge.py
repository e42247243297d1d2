"""What the /graphql edge does before and after the schema runs."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select, text, update

from app.auth import tokens
from app.models.auth import ApiToken, Role
from tests.accounts.factories import create_account
from tests.support import Api

VIEWER = "{ viewer { id } }"


async def test_missing_token_is_401(api: Api) -> None:
    response = await api.post(VIEWER, caller=None)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_and_revoked_tokens_are_401(api: Api) -> None:
    rep = await api.caller(Role.REP)
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer af_nope"}
    )
    assert response.status_code == 401
    assert (await api.post(VIEWER, caller=rep)).status_code == 200
    await api.session.execute(
        update(ApiToken).where(ApiToken.user_id == rep.user_id).values(revoked_at=func.now())
    )
    await api.session.commit()
    await asyncio.sleep(tokens.principal_cache.seconds)  # revoked elsewhere: within a second
    assert (await api.post(VIEWER, caller=rep)).status_code == 401


async def test_tokens_are_stored_hashed(api: Api) -> None:
    rep = await api.caller(Role.REP)
    stored = await api.session.scalar(
        select(ApiToken.token_hash).where(ApiToken.user_id == rep.user_id)
    )
    assert stored is not None
    assert rep.token not in stored
    assert len(stored) == 64


async def test_unparseable_body_is_400(api: Api) -> None:
    rep = await api.caller(Role.REP)
    response = await api.client.post(
        "/graphql",
        content=b"{not json",
        headers={"Authorization": f"Bearer {rep.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_malformed_graphql_and_wrong_variable_type_are_200_errors(api: Api) -> None:
    rep = await api.caller(Role.REP)
    malformed = await api.gql("{ viewer { id ", caller=rep)
    assert malformed["data"] is None
    assert "Syntax Error" in malformed["errors"][0]["message"]
    wrong = await api.gql(
        "query($first: Int) { accounts(first: $first) { totalCount } }",
        {"first": "many"},
        caller=rep,
    )
    assert wrong["data"] is None
    assert "$first" in wrong["errors"][0]["message"]


async def test_body_over_limit_is_413(api: Api) -> None:
    rep = await api.caller(Role.REP)
    padding = " " * (2 * 1024 * 1024 + 1)
    response = await api.post(VIEWER + padding, caller=rep)
    assert response.status_code == 413


async def test_unexpected_errors_are_masked_and_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme")
    await api.session.execute(text("ALTER TABLE contacts RENAME TO contacts_gone"))
    await api.session.commit()
    with caplog.at_level(logging.ERROR, logger="accountflow.graphql"):
        result = await api.gql("{ accounts { edges { node { contacts { id } } } } }", caller=rep)
    error = result["errors"][0]
    assert error["message"] == "Internal error"
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = error["extensions"]["requestId"]
    assert "does not exist" not in str(result)
    assert any(request_id in record.getMessage() for record in caplog.records)


async def test_health_ready_and_metrics(api: Api) -> None:
    rep, admin = await api.caller(Role.REP), await api.caller(Role.ADMIN)
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    assert (await api.client.get("/readyz")).json() == {"status": "ready"}
    assert (await api.client.get("/metrics")).status_code == 401
    await api.gql("query Viewer { viewer { id } }", caller=rep)
    refused = await api.client.get("/metrics", headers={"Authorization": f"Bearer {rep.token}"})
    assert refused.status_code == 403
    metrics = await api.client.get("/metrics", headers={"Authorization": f"Bearer {admin.token}"})
    assert metrics.status_code == 200
    assert 'accountflow_graphql_requests_total{operation="Viewer",outcome="ok"}' in metrics.text
    assert "accountflow_graphql_request_seconds_bucket" in metrics.text


async def test_a_failing_field_beside_a_running_loader_answers_not_500(api: Api) -> None:
    """A bad cursor fails one field while its sibling's DataLoader is mid-statement."""
    from schema.relay import to_global_id
    from tests.accounts.factories import create_account

    admin = await api.caller(Role.ADMIN)
    account = await create_account(api.session, "Raced")
    query = """mutation($id: ID!) { updateAccount(input: {id: $id}) {
        account { activities(after: "") { totalCount } plans { owner { role } } }
        errors { code } } }"""
    for _ in range(5):
        response = await api.post(query, {"id": to_global_id("Account", account.id)}, caller=admin)
        assert response.status_code == 200
        assert "INTERNAL" not in response.text
        assert "INVALID_CURSOR" in response.text


async def test_a_forbidden_root_beside_a_running_list(api: Api) -> None:
    """graphql-core cancels the sibling mid-statement: the answer stands, the connection goes."""
    integration = await api.caller(Role.INTEGRATION)
    query = "{ accounts(first: 2) { totalCount edges { node { name } } } users { totalCount } }"
    for _ in range(3):
        response = await api.post(query, caller=integration)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await api.data("{ viewer { role } }", caller=integration) == {
        "viewer": {"role": "INTEGRATION"}
    }
