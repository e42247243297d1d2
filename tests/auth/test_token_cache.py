"""The token check is cached per process for at most a second, keyed by the token's hash."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import tokens
from app.auth.cache import PrincipalCache
from app.kit.actor import SYSTEM
from app.models.auth import ApiToken, Role, User
from tests.schema.engine.test_statement_count import counting
from tests.support import Api, Caller

VIEWER = "{ viewer { id role } }"


async def _status(api: Api, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    response = await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)
    return response.status_code


async def _revoke_elsewhere(api: Api, caller: Caller) -> float:
    """As another worker (or the CLI) would: straight in the database; returns when."""
    statement = update(ApiToken).where(ApiToken.user_id == caller.user_id)
    await api.session.execute(statement.values(revoked_at=text("now()")))
    await api.session.commit()
    return time.monotonic()


async def test_a_token_revoked_elsewhere_is_refused_within_a_second(api: Api) -> None:
    rep = await api.caller(Role.REP)
    assert await _status(api, rep.token) == 200  # its principal is cached from here on
    revoked = await _revoke_elsewhere(api, rep)
    await asyncio.sleep(max(0.0, revoked + tokens.principal_cache.seconds - time.monotonic()))
    assert await _status(api, rep.token) == 401


async def test_a_revocation_in_this_process_refuses_the_token_at_once(api: Api) -> None:
    rep, other = await api.caller(Role.REP), await api.caller(Role.REP)
    assert await _status(api, rep.token) == 200
    assert await _status(api, other.token) == 200
    await tokens.revoke_token(api.session, actor=SYSTEM, raw_token=rep.token)
    await api.session.commit()
    assert await _status(api, rep.token) == 401
    assert await _status(api, other.token) == 200


async def test_deactivation_and_role_changes_apply_at_once(api: Api) -> None:
    admin, rep, manager = [await api.caller(role) for role in (Role.ADMIN, Role.REP, Role.MANAGER)]
    for caller in (rep, manager):
        assert await _status(api, caller.token) == 200
    demote = {"input": {"id": manager.id, "role": "REP"}}
    assert (await api.op("UpdateUser", demote, caller=admin))["updateUser"]["errors"] == []
    assert (await api.data(VIEWER, caller=manager))["viewer"]["role"] == "REP"
    deactivate = {"input": {"id": rep.id, "isActive": False}}
    assert (await api.op("UpdateUser", deactivate, caller=admin))["updateUser"]["errors"] == []
    assert await _status(api, rep.token) == 401


async def test_an_expired_token_is_refused_although_cached(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens.principal_cache, "seconds", 60.0)  # only the expiry can end it
    rep = await api.caller(Role.REP)
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    raw, _ = await tokens.issue_token(
        api.session, actor=SYSTEM, user_id=rep.user_id, expires_at=expires_at
    )
    await api.session.commit()
    assert await _status(api, raw) == 200  # cached from here on
    await asyncio.sleep((expires_at - datetime.now(UTC)).total_seconds() + 0.01)
    assert await _status(api, raw) == 401
    assert await _status(api, rep.token) == 200


async def test_a_cache_hit_sends_no_statement(
    api: Api, app_engine: tuple[object, AsyncEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens.principal_cache, "seconds", 60.0)  # no race with the clock
    _, engine = app_engine
    rep = await api.caller(Role.REP)
    assert await _status(api, rep.token) == 200  # the lookup, then lastUsedAt stamped
    with counting(engine) as statements:
        assert (await api.data(VIEWER, caller=rep))["viewer"]["role"] == "REP"
    assert statements == []
    tokens.principal_cache.clear()
    with counting(engine) as statements:
        assert (await api.data(VIEWER, caller=rep))["viewer"]["role"] == "REP"
    assert len(statements) == 1  # the token lookup; lastUsedAt is fresh, not stamped again
    assert "api_tokens" in statements[0]


async def test_last_use_is_still_stamped_once_the_entry_is_gone(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens.principal_cache, "seconds", 60.0)
    rep = await api.caller(Role.REP)
    assert await _status(api, rep.token) == 200
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    by_user = ApiToken.user_id == rep.user_id
    await api.session.execute(update(ApiToken).where(by_user).values(last_used_at=long_ago))
    await api.session.commit()
    assert await _status(api, rep.token) == 200  # a hit: the stamp waits for the next lookup
    used = select(ApiToken.last_used_at).where(by_user).execution_options(populate_existing=True)
    assert await api.session.scalar(used) == long_ago
    tokens.principal_cache.clear()
    assert await _status(api, rep.token) == 200
    stamped = await api.session.scalar(used)
    assert stamped is not None
    assert stamped > datetime.now(UTC) - timedelta(seconds=30)


def _user(pk: int) -> User:
    return User(id=pk, email=f"u{pk}@example.org", name=f"U{pk}", role=Role.REP, is_active=True)


def test_the_cache_is_bounded_and_keeps_the_newest() -> None:
    cache = PrincipalCache(seconds=60, size=3)
    for pk in range(1, 6):
        cache.put(f"hash{pk}", _user(pk), pk, None, False, cache.generation)
    assert len(cache) == 3
    assert [cache.get(f"hash{pk}") is not None for pk in range(1, 6)] == [False, False] + [True] * 3


def test_a_lookup_that_ran_across_a_revocation_is_not_kept() -> None:
    cache = PrincipalCache(seconds=60, size=10)
    generation = cache.generation  # a lookup starts…
    cache.drop_matching(token_id=7)  # …a revocation in this process commits…
    cache.put("hash7", _user(1), 7, None, False, generation)  # …the lookup read the row before it
    assert cache.get("hash7") is None
    cache.put("hash7", _user(1), 7, None, False, cache.generation)
    assert cache.get("hash7") is not None
    cache.drop_matching(user_id=1)
    assert cache.get("hash7") is None
