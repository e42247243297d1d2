"""The CLI against a real database."""

from __future__ import annotations

import asyncio

import pytest

from app.__main__ import main
from app.auth.tokens import authenticate
from app.db import create_engine, create_sessionmaker
from schema import schema


async def _role_of(url: str, token: str) -> str | None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            principal = await authenticate(session, token)
            return None if principal is None else principal.user.role.value
    finally:
        await engine.dispose()


def test_token_create_prints_only_a_working_token(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    main(["token", "create", "--email", "ops@example.org", "--role", "MANAGER"])
    first = capsys.readouterr().out
    main(["token", "create", "--email", "ops@example.org", "--role", "MANAGER"])
    second = capsys.readouterr().out
    token = first.strip()
    assert first == token + "\n"
    assert token.startswith("af_")
    assert second.strip() != token
    assert asyncio.run(_role_of(database_url, token)) == "MANAGER"


def test_token_revoke_stops_the_token_at_once(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    main(["token", "create", "--email", "gone@example.org", "--role", "REP"])
    token = capsys.readouterr().out.strip()
    assert asyncio.run(_role_of(database_url, token)) == "REP"
    main(["token", "revoke", "--token", token])
    assert capsys.readouterr().out == "revoked\n"
    assert asyncio.run(_role_of(database_url, token)) is None


def test_export_schema_prints_the_sdl(capsys: pytest.CaptureFixture[str]) -> None:
    main(["export-schema"])
    assert capsys.readouterr().out == schema.as_str() + "\n"


def test_seed_demo_loads_accounts(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    main(["seed-demo", "--accounts", "12"])
    assert capsys.readouterr().out.startswith("seeded 10 users, 12 accounts,")


def test_refresh_balances_reports_the_rows_it_recomputed(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    main(["refresh-balances"])
    assert capsys.readouterr().out == "refreshed 0 assignments\n"
