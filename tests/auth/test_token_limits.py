"""Every live token is listed (liveApiTokens, paged); a user holds at most
ACCOUNTFLOW_MAX_TOKENS_PER_USER live tokens; `token create` never ignores --role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from app.__main__ import main
from app.auth import tokens
from app.kit.actor import SYSTEM
from app.models.audit import AuditEntry
from app.models.auth import ApiToken, Role, User
from app.settings import Settings
from app.web.app import create_app
from schema.relay import to_global_id
from tests.support import Api, Caller

LIVE = """
query($userId: ID, $after: String) {
  liveApiTokens(userId: $userId, first: 50, after: $after) {
    totalCount
    edges { node { id revokedAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CREATE = """
mutation($input: CreateApiTokenInput!) {
  createApiToken(input: $input) { token errors { code message field } }
}
"""


async def _mint(api: Api, caller: Caller, n: int) -> list[int]:
    ids = []
    for _ in range(n):
        _, row = await tokens.issue_token(api.session, actor=SYSTEM, user_id=caller.user_id)
        ids.append(row.id)
    await api.session.commit()
    return ids


async def _live_ids(api: Api, caller: Caller, user: Caller) -> tuple[list[str], int]:
    ids: list[str] = []
    after, total = None, 0
    while True:
        page = (await api.data(LIVE, {"userId": user.id, "after": after}, caller=caller))[
            "liveApiTokens"
        ]
        ids += [e["node"]["id"] for e in page["edges"]]
        assert all(e["node"]["revokedAt"] is None for e in page["edges"])
        total = page["totalCount"]
        if not page["pageInfo"]["hasNextPage"]:
            return ids, total
        after = page["pageInfo"]["endCursor"]


async def test_every_live_token_is_listed_a_page_at_a_time(api: Api) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    minted = await _mint(api, rep, 129)
    dead = minted[:9]
    await api.session.execute(
        update(ApiToken).where(ApiToken.id.in_(dead[:5])).values(revoked_at=func.now())
    )
    past = datetime.now(UTC) - timedelta(days=1)
    await api.session.execute(
        update(ApiToken).where(ApiToken.id.in_(dead[5:])).values(expires_at=past)
    )
    await api.session.commit()
    everyone = await api.session.scalars(
        select(ApiToken.id).where(ApiToken.user_id == rep.user_id).order_by(ApiToken.id.desc())
    )
    live = [to_global_id("ApiToken", pk) for pk in everyone if pk not in dead]
    assert len(live) == 121  # the caller's own token, and 120 minted
    assert await _live_ids(api, rep, rep) == (live, 121)
    assert await _live_ids(api, admin, rep) == (live, 121)
    newest = (await api.op("ApiTokens", {"userId": rep.id}, caller=rep))["apiTokens"]
    assert len(newest) == 100
    other = await api.caller(Role.REP)
    refused = await api.gql(LIVE, {"userId": rep.id}, caller=other)
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.fixture
async def capped(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose users hold at most 3 live tokens."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_MAX_TOKENS_PER_USER": "3"}
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def _create(client: httpx.AsyncClient, caller: Caller, user: Caller) -> dict[str, Any]:
    body = {"query": CREATE, "variables": {"input": {"userId": user.id, "name": "n"}}}
    headers = {"Authorization": f"Bearer {caller.token}"}
    response = await client.post("/graphql", json=body, headers=headers)
    result: dict[str, Any] = response.json()["data"]["createApiToken"]
    return result


async def _counts(api: Api, user: Caller) -> tuple[int, int]:
    mine = select(func.count()).where(ApiToken.user_id == user.user_id)
    audits = select(func.count()).where(AuditEntry.action == "token.create")
    return int(await api.session.scalar(mine) or 0), int(await api.session.scalar(audits) or 0)


async def test_creating_past_the_cap_is_token_limit_and_writes_nothing(
    api: Api, capped: httpx.AsyncClient
) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    for _ in range(2):  # the caller's own token is the first of three
        assert (await _create(capped, rep, rep))["errors"] == []
    before = await _counts(api, rep)
    refused = await _create(capped, admin, rep)
    assert refused["token"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("TOKEN_LIMIT", "userId")]
    assert refused["errors"][0]["message"] == (
        "The user holds 3 live tokens, the most a user may "
        "(ACCOUNTFLOW_MAX_TOKENS_PER_USER); revoke one first."
    )
    assert await _counts(api, rep) == before
    assert (await _create(capped, admin, admin))["errors"] == []  # another user's own cap
    await api.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == rep.user_id, ApiToken.name == "n")
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await api.session.commit()
    assert (await _create(capped, rep, rep))["errors"] == []  # expired ones do not count


async def test_concurrent_creations_never_pass_the_cap(api: Api, capped: httpx.AsyncClient) -> None:
    admin, rep = await api.caller(Role.ADMIN), await api.caller(Role.REP)
    results = await asyncio.gather(*(_create(capped, admin, rep) for _ in range(5)))
    codes = sorted(e["code"] for r in results for e in r["errors"])
    assert codes == ["TOKEN_LIMIT"] * 3
    assert (await _counts(api, rep))[0] == 3


def _user(database_url: str, email: str) -> tuple[Role, int] | None:
    from app import db

    async def read() -> tuple[Role, int] | None:
        engine = db.create_engine(database_url)
        try:
            async with engine.connect() as connection:
                role = await connection.scalar(select(User.role).where(User.email == email))
                query = select(func.count()).select_from(ApiToken).join(User)
                n = await connection.scalar(query.where(User.email == email))
        finally:
            await engine.dispose()
        return None if role is None else (role, int(n or 0))

    return asyncio.run(read())


def test_token_create_refuses_another_role_for_an_existing_user(
    database_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ACCOUNTFLOW_DATA_DIR", str(settings.data_dir))
    main(["token", "create", "--email", "ann@example.org", "--role", "REP"])
    assert capsys.readouterr().out.startswith("af_")
    with pytest.raises(SystemExit) as refused:
        main(["token", "create", "--email", "ann@example.org", "--role", "ADMIN"])
    assert str(refused.value.code) == (
        "accountflow: ann@example.org exists with role REP; --role ADMIN was not applied "
        "and no token was made (change a role with updateUser)"
    )
    assert _user(database_url, "ann@example.org") == (Role.REP, 1)
    main(["token", "create", "--email", "ann@example.org", "--role", "REP"])
    assert capsys.readouterr().out.startswith("af_")
    assert _user(database_url, "ann@example.org") == (Role.REP, 2)
    monkeypatch.setenv("ACCOUNTFLOW_MAX_TOKENS_PER_USER", "2")
    with pytest.raises(SystemExit, match="the most a user may"):
        main(["token", "create", "--email", "ann@example.org", "--role", "REP"])
    assert _user(database_url, "ann@example.org") == (Role.REP, 2)
