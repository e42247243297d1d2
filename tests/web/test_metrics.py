"""/metrics: admins or the scrape token only; right with N workers; the gauges operators ask
for (pool, webhook backlog and age, outbox lag, import jobs, subscriptions, process)."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.auth import Role
from app.settings import Settings
from tests.support import Api
from tests.web.serve import serve

SCRAPE = "scrape-token-for-tests-0123456789"
VIEWER = "query Viewer { viewer { id } }"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_METRICS_TOKEN": SCRAPE}
    return Settings.from_env(env)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def samples(exposition: str, name: str) -> dict[str, float]:
    """Every sample of one metric: its labels as written -> value."""
    found = {}
    for line in exposition.splitlines():
        match = re.fullmatch(rf"{name}(\{{[^}}]*\}})? (\S+)", line)
        if match:
            found[match.group(1) or ""] = float(match.group(2))
    return found


async def test_metrics_answer_admins_and_the_scrape_token_only(api: Api) -> None:
    admin, manager = await api.caller(Role.ADMIN), await api.caller(Role.MANAGER)
    rep, integration = await api.caller(Role.REP), await api.caller(Role.INTEGRATION)

    async def status(headers: dict[str, str]) -> int:
        return (await api.client.get("/metrics", headers=headers)).status_code

    assert await status({}) == 401
    for caller in (manager, rep, integration):
        assert await status(_bearer(caller.token)) == 403
    assert await status(_bearer(admin.token)) == 200
    assert await status(_bearer(SCRAPE)) == 200
    assert await status(_bearer(SCRAPE[:-1] + "x")) == 401
    # The scrape token reads /metrics and nothing else.
    body = {"query": VIEWER}
    graphql = await api.client.post("/graphql", json=body, headers=_bearer(SCRAPE))
    assert graphql.status_code == 401
    assert graphql.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_metrics_show_backlog_lag_imports_pool_and_process(
    api: Api, app_engine: tuple[object, AsyncEngine]
) -> None:
    admin = await api.caller(Role.ADMIN)
    # A webhook nobody delivers to (no worker runs here): each account leaves one pending.
    await api.session.execute(
        text(
            "INSERT INTO webhooks (url, events, secret)"
            " VALUES ('http://127.0.0.1:9/hook', ARRAY['account.created'], 'whsec_test')"
        )
    )
    await api.session.execute(
        text(
            "INSERT INTO import_jobs (kind, mode, status)"
            " VALUES ('ACCOUNTS', 'ALL_OR_NOTHING', 'QUEUED')"
        )
    )
    await api.session.commit()
    for name in ("One", "Two"):
        await api.op("CreateAccount", {"input": {"name": name}}, caller=admin)
    await asyncio.sleep(1.1)  # the oldest pending delivery is over a second old
    _, engine = app_engine
    async with engine.connect() as held:  # one connection of the server's pool in use
        await held.execute(text("SELECT 1"))
        exposition = (await api.client.get("/metrics", headers=_bearer(SCRAPE))).text

    assert samples(exposition, "accountflow_database_up") == {"": 1.0}
    assert samples(exposition, "accountflow_webhook_backlog") == {"": 2.0}
    assert samples(exposition, "accountflow_webhook_oldest_pending_seconds")[""] >= 1.0
    assert samples(exposition, "accountflow_outbox_lag_seconds")[""] >= 1.0
    imports = samples(exposition, "accountflow_import_jobs")
    assert imports == {'{status="queued"}': 1.0, '{status="running"}': 0.0}
    assert samples(exposition, "accountflow_db_pool_in_use") == {"": 1.0}
    assert samples(exposition, "accountflow_db_pool_waiting") == {"": 0.0}
    assert samples(exposition, "accountflow_subscriptions_open") == {"": 0.0}
    assert samples(exposition, "process_resident_memory_bytes")[""] > 0


def test_serve_with_two_workers_counts_every_request(tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url, "ACCOUNTFLOW_METRICS_TOKEN": SCRAPE}
    with serve(tmp_path, env, "--workers", "2", "--no-worker") as served:
        token = _admin_token(database_url)
        for _ in range(40):  # a connection each, so both workers take some
            with httpx.Client(base_url=served.base, headers=_bearer(token)) as client:
                response = client.post("/graphql", json={"query": VIEWER})
                assert response.status_code == 200, response.text
        for _ in range(6):  # whichever worker answers, the sum is the same
            exposition = _scrape(served.base)
            counted = samples(exposition, "accountflow_graphql_requests_total")
            assert counted == {'{operation="Viewer",outcome="ok"}': 40.0}
        pids = _process_pids(served.base)
    assert len(pids) == 2


def _admin_token(database_url: str) -> str:
    from app.__main__ import _create_token

    return asyncio.run(_create_token(database_url, "ops@example.org", Role.ADMIN, "Ops"))


def _scrape(base: str) -> str:
    response = httpx.get(f"{base}/metrics", headers=_bearer(SCRAPE))
    assert response.status_code == 200, response.text
    return response.text


def _process_pids(base: str) -> set[str]:
    """The workers whose process figures /metrics shows (each samples its own at start)."""
    deadline = time.monotonic() + 30
    while True:
        memory = samples(_scrape(base), "process_resident_memory_bytes")
        pids = {labels for labels, value in memory.items() if value > 0}
        if len(pids) >= 2 or time.monotonic() > deadline:
            return pids
        time.sleep(0.5)
