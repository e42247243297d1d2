"""Cursors are opaque: sealed with the server's key, no sort value readable, none forgeable;
the same bytes on both read paths, and one key for every process sharing the database."""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.kit import cursor, keys
from app.models.accounts import Account
from app.models.auth import Role
from app.models.keys import ServerKey
from app.settings import Settings, SettingsError
from tests.accounts.factories import create_account
from tests.support import Api

EXECUTOR = "x-accountflow-executor"
SECRET_NAME = "Zanzibar Holdings"
# Account.revenueLast12Months has no SQL on the compiled path: strawberry answers.
COMPILED = "{ accounts(first: 1) { edges { cursor node { name } } } }"
STRAWBERRY = "{ accounts(first: 1) { edges { cursor node { name revenueLast12Months } } } }"


def _readable(value: str) -> Any:
    """What base64 decoding shows of a cursor: JSON, text, or None when nothing."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


async def _cursor(api: Api, query: str, executor: str) -> str:
    manager = await api.caller(Role.MANAGER)
    response = await api.post(query, caller=manager)
    assert response.headers[EXECUTOR] == executor
    edges = response.json()["data"]["accounts"]["edges"]
    assert edges[0]["node"]["name"] == SECRET_NAME
    value: str = edges[0]["cursor"]
    return value


@pytest.mark.parametrize(("query", "executor"), [(COMPILED, "compiled"), (STRAWBERRY, "graphql")])
async def test_a_cursor_shows_no_sort_value(api: Api, query: str, executor: str) -> None:
    await create_account(api.session, SECRET_NAME)
    await api.session.commit()
    value = await _cursor(api, query, executor)
    shown = _readable(value)
    assert not isinstance(shown, list)
    assert "Zanzibar" not in str(shown)
    assert len(value) < 100  # compact: a few dozen characters


async def test_both_read_paths_write_the_same_cursor(api: Api) -> None:
    await create_account(api.session, SECRET_NAME)
    await api.session.commit()
    assert await _cursor(api, COMPILED, "compiled") == await _cursor(api, STRAWBERRY, "graphql")


def _tampered(value: str) -> str:
    last = "A" if value[-2] != "A" else "B"
    return value[:-2] + last + value[-1]


def _foreign(value: str) -> str:
    """The same array, sealed by another server (another key)."""
    plain = cursor.unseal(value)
    other = cursor._Sealer.cipher
    cursor._Sealer.cipher = AESSIV(os.urandom(cursor.KEY_BYTES))
    try:
        return cursor.seal(plain)
    finally:
        cursor._Sealer.cipher = other


def _unsealed(value: str) -> str:
    """The array as cursors were before they were sealed: plain base64 of the JSON."""
    return base64.urlsafe_b64encode(cursor.unseal(value)).decode()


@pytest.mark.parametrize("change", [_tampered, _foreign, _unsealed])
@pytest.mark.parametrize(("query", "executor"), [(COMPILED, "compiled"), (STRAWBERRY, "graphql")])
async def test_a_tampered_or_foreign_cursor_is_invalid_cursor(
    api: Api, change: Any, query: str, executor: str
) -> None:
    for name in (SECRET_NAME, "Zz Second"):
        await create_account(api.session, name)
    await api.session.commit()
    value = change(await _cursor(api, query, executor))
    manager = await api.caller(Role.MANAGER)
    paged = query.replace("first: 1", "first: 1, after: $after").replace(
        "{", "query($after: String) {", 1
    )
    result = await api.gql(paged, {"after": value}, caller=manager)
    assert result["data"] is None
    assert [(e["extensions"]["code"], e["extensions"]["field"]) for e in result["errors"]] == [
        ("INVALID_CURSOR", "after")
    ]


async def test_a_sealed_cursor_pages_on_both_paths(api: Api) -> None:
    for name in (SECRET_NAME, "Zz Second"):
        await create_account(api.session, name)
    await api.session.commit()
    manager = await api.caller(Role.MANAGER)
    paged = (
        "query($after: String) { accounts(first: 1, after: $after) { edges { node { name } } } }"
    )
    for query, executor in ((COMPILED, "compiled"), (STRAWBERRY, "graphql")):
        value = await _cursor(api, query, executor)
        data = await api.data(paged, {"after": value}, caller=manager)
        assert data["accounts"]["edges"] == [{"node": {"name": "Zz Second"}}]


async def test_every_process_reads_one_key_from_the_database(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    first = await keys.cursor_key(engine, None)
    assert len(first) == cursor.KEY_BYTES
    assert await keys.cursor_key(engine, None) == first
    # A database that lost its key makes one, and keeps it for the next process.
    await session.execute(delete(ServerKey))
    await session.commit()
    made = await keys.cursor_key(engine, None)
    assert made != first
    assert await keys.cursor_key(engine, None) == made


async def test_a_configured_key_wins_and_stays_out_of_logs(engine: AsyncEngine) -> None:
    secret = "s" * 40
    settings = Settings.from_env({"ACCOUNTFLOW_CURSOR_KEY": secret})
    assert settings.cursor_key == secret
    assert secret not in repr(settings)
    assert await keys.cursor_key(engine, settings.cursor_key) == keys.derived(secret)
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"ACCOUNTFLOW_CURSOR_KEY": "short"})


async def test_a_mark_character_in_the_data_stays_data(api: Api) -> None:
    """The compiled path marks its cursors with a control character; one in a name is
    escaped in the JSON text (to_json), so it is neither sealed nor lost."""
    account = await create_account(api.session, "placeholder")
    await api.session.execute(
        update(Account).where(Account.id == account.id).values(name=f"A{cursor.MARK}B{cursor.MARK}")
    )
    await api.session.commit()
    manager = await api.caller(Role.MANAGER)
    compiled = await api.post(COMPILED, caller=manager)
    strawberry = await api.post(STRAWBERRY, caller=manager)
    assert compiled.headers[EXECUTOR] == "compiled"
    [edge] = compiled.json()["data"]["accounts"]["edges"]
    assert edge["node"]["name"] == f"A{cursor.MARK}B{cursor.MARK}"
    assert edge["cursor"] == strawberry.json()["data"]["accounts"]["edges"][0]["cursor"]
