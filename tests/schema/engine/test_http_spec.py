"""GraphQL over HTTP (graphql.github.io/graphql-over-http) and the X-Request-Id header."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from app.models.accounts import Account
from app.models.audit import AuditEntry
from app.models.auth import Role
from tests.support import Api, Caller

GRAPHQL_RESPONSE = "application/graphql-response+json"


def headers(caller: Caller, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {caller.token}", **more}


async def post(
    api: Api, caller: Caller, query: str, accept: str | None, **body: object
) -> tuple[int, str, dict[str, Any]]:
    extra = {"Accept": accept} if accept else {}
    response = await api.client.post(
        "/graphql", json={"query": query, **body}, headers=headers(caller, **extra)
    )
    return response.status_code, response.headers["content-type"], response.json()


async def test_graphql_response_json_is_answered_in_kind(api: Api) -> None:
    rep = await api.caller(Role.REP)
    status, media, body = await post(api, rep, "{ viewer { id } }", GRAPHQL_RESPONSE)
    assert (status, media) == (200, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    assert body == {"data": {"viewer": {"id": rep.id}}, "extensions": {"cost": 1}}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ viewer { id ", {}),  # parse error
        ("{ viewer { nope } }", {}),  # validation error
        ("query($n: Int) { accounts(first: $n) { totalCount } }", {"n": "many"}),  # coercion
    ],
)
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    api: Api, query: str, variables: dict[str, object]
) -> None:
    rep = await api.caller(Role.REP)
    status, media, body = await post(api, rep, query, GRAPHQL_RESPONSE, variables=variables)
    assert (status, media) == (400, f"{GRAPHQL_RESPONSE}; charset=utf-8")
    assert "data" not in body
    assert body["errors"]
    # the legacy media type keeps 200 and `data: null`
    status, media, body = await post(api, rep, query, "application/json", variables=variables)
    assert (status, media) == (200, "application/json; charset=utf-8")
    assert body["data"] is None


async def test_field_errors_stay_200_with_data(api: Api) -> None:
    rep = await api.caller(Role.REP)
    status, _, body = await post(
        api, rep, "{ accounts(first: 500) { totalCount } }", GRAPHQL_RESPONSE
    )
    assert status == 200  # execution began: a field error, not a request error
    assert body["data"] is None
    assert body["errors"][0]["path"] == ["accounts"]


async def test_accept_negotiation(api: Api) -> None:
    rep = await api.caller(Role.REP)
    for accept, expected in [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE),
        ("application/graphql-response+json;q=0.5, application/json", "application/json"),
    ]:
        status, media, _ = await post(api, rep, "{ viewer { id } }", accept)
        assert status == 200
        assert media.startswith(expected), (accept, media)
    status, _, _ = await post(api, rep, "{ viewer { id } }", "text/html")
    assert status == 406


async def test_post_needs_a_json_content_type(api: Api) -> None:
    rep = await api.caller(Role.REP)
    body = json.dumps({"query": "{ viewer { id } }"})
    for content_type in ("text/plain", "application/json; charset=latin-1", None):
        extra = {"Content-Type": content_type} if content_type else {}
        response = await api.client.post(
            "/graphql", content=body.encode(), headers=headers(rep, **extra)
        )
        assert response.status_code == 415, content_type
    ok = await api.client.post(
        "/graphql",
        content=body.encode(),
        headers=headers(rep, **{"Content-Type": "application/json; charset=utf-8"}),
    )
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"query": 0}, {"qeury": "{ viewer { id } }"}, {"query": "{ x }", "extensions": [1]}],
)
async def test_invalid_parameters_are_400(api: Api, body: dict[str, object]) -> None:
    rep = await api.caller(Role.REP)
    response = await api.client.post("/graphql", json=body, headers=headers(rep))
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_queries_run_on_get(api: Api) -> None:
    rep = await api.caller(Role.REP)
    params = {
        "query": "query Mine($n: Int) { viewer { id } accounts(first: $n) { totalCount } }",
        "variables": json.dumps({"n": 5}),
        "operationName": "Mine",
    }
    response = await api.client.get(
        "/graphql", params=params, headers=headers(rep, Accept="application/json")
    )
    assert response.status_code == 200
    assert response.json() == {
        "data": {"viewer": {"id": rep.id}, "accounts": {"totalCount": 0}},
        "extensions": {"cost": 2},
    }


async def test_mutations_on_get_are_405(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    query = 'mutation { createAccount(input: { name: "Via GET" }) { account { id } } }'
    response = await api.client.get(
        "/graphql", params={"query": query}, headers=headers(admin, Accept=GRAPHQL_RESPONSE)
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert await api.session.scalar(select(func.count()).select_from(Account)) == 0


async def test_graphiql_only_for_a_browser_asking_for_html(api: Api) -> None:
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = await api.client.get("/graphql", headers={"Accept": browser})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    # a client that accepts anything gets GraphQL (here: no token, so 401), not HTML
    plain = await api.client.get("/graphql", headers={"Accept": "*/*"})
    assert plain.status_code == 401
    assert plain.headers["content-type"].startswith("application/json")


CREATE = 'mutation { createAccount(input: { name: "Traced" }) { account { id } errors { code } } }'


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-2026.11.29:abc_DEF-1", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("x" * 500, False),
        ("bad id <script>", False),
        ("", False),
    ],
)
async def test_request_id_is_kept_only_when_short_and_safe(
    api: Api, given: str, kept: bool
) -> None:
    admin = await api.caller(Role.ADMIN)
    response = await api.client.post(
        "/graphql", json={"query": CREATE}, headers=headers(admin, **{"X-Request-Id": given})
    )
    assert response.status_code == 200
    body = response.json()
    assert body["data"]["createAccount"]["errors"] == [], body
    request_id = response.headers["x-request-id"]
    if kept:
        assert request_id == given
    else:
        assert request_id != given
        assert len(request_id) == 32
    stored = await api.session.scalar(
        select(AuditEntry.request_id).where(AuditEntry.action == "account.create")
    )
    assert stored == request_id
