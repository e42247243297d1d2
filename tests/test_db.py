"""Every connection carries statement, lock and idle timeouts; running past one is TIMEOUT."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.accounts import Account
from app.models.auth import Role
from app.settings import Settings
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(
        {
            "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
            "ACCOUNTFLOW_LOCK_TIMEOUT_MS": "300",
            "ACCOUNTFLOW_IDLE_IN_TRANSACTION_TIMEOUT_MS": "45000",
        }
    )


async def test_app_connections_carry_the_timeouts(app_engine: tuple[object, AsyncEngine]) -> None:
    _, engine = app_engine
    async with engine.connect() as connection:
        names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
        found = [(await connection.execute(text(f"SHOW {name}"))).scalar() for name in names]
        report = await connection.scalar(
            text("SELECT current_setting('accountflow.report_statement_timeout')")
        )
    assert found == ["15s", "300ms", "45s"]
    assert report == "60000"


def test_timeouts_come_from_the_environment() -> None:
    env = {"ACCOUNTFLOW_STATEMENT_TIMEOUT_MS": "2500", "ACCOUNTFLOW_LOCK_TIMEOUT_MS": "0"}
    timeouts = Settings.from_env(env).timeouts
    assert timeouts.server_settings() == {
        "statement_timeout": "2500",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "60000",
        "accountflow.report_statement_timeout": "60000",
    }


async def test_a_mutation_waiting_past_lock_timeout_is_a_timeout_error(api: Api) -> None:
    manager = await api.caller(Role.MANAGER)
    account = await create_account(api.session, "Acme")
    await api.session.execute(select(Account).where(Account.id == account.id).with_for_update())
    try:
        variables = {"input": {"id": to_global_id("Account", account.id), "name": "Renamed"}}
        result = (await api.op("UpdateAccount", variables, caller=manager))["updateAccount"]
    finally:
        await api.session.rollback()
    assert [e["code"] for e in result["errors"]] == ["TIMEOUT"]
    assert result["account"] is None
    names = await api.session.scalars(select(Account.name))
    assert list(names) == ["Acme"]


async def test_a_query_waiting_past_lock_timeout_is_a_timeout_error(api: Api) -> None:
    rep = await api.caller(Role.REP)
    await create_account(api.session, "Acme")
    await api.session.execute(text("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE"))
    try:
        result = await api.gql("{ accounts(first: 5) { totalCount } }", caller=rep)
    finally:
        await api.session.rollback()
    assert [e["extensions"]["code"] for e in result["errors"]] == ["TIMEOUT"]
    assert "Internal error" not in str(result)
