"""PostgreSQL stopped under a real server: every endpoint that needs it answers 503 with
Retry-After and SERVICE_UNAVAILABLE, and the server recovers by itself when it is back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app import db
from app.__main__ import _create_token, migrate
from app.models.auth import Role
from app.web.database import IDLE_PING_SECONDS
from tests.support import Api
from tests.web.serve import serve
from tests.web.test_metrics import SCRAPE, samples

VIEWER = "query Viewer { viewer { id } }"
NEEDS_THE_DATABASE = [
    # First, while the token may still be in the 1 s cache: a stream that fails to start.
    ("GET", "/export/accounts.csv", {}),
    ("POST", "/graphql", {"json": {"query": VIEWER}}),
    ("GET", "/graphql?query=%7Bviewer%7Bid%7D%7D", {}),
    ("POST", "/ingest/activities", {"content": b"{}\n"}),
    ("GET", "/readyz", {}),
]


def _pg_ctl(pg_dir: Path, *args: str) -> None:
    """The wheel's pg_ctl, as the user that owns the data (pgserver's, under root)."""
    owner = pg_dir.stat().st_uid
    command = [str(db.postgres_binaries() / "pg_ctl"), "-D", str(pg_dir), "-w", *args]
    user = owner if owner != os.getuid() else None
    subprocess.run(command, check=True, user=user, capture_output=True, timeout=60)


def _pg_start(pg_dir: Path) -> None:
    # As pgserver starts it: no TCP, the socket in the data directory.
    _pg_ctl(pg_dir, "-o", '-h ""', "-o", f"-k {pg_dir}", "-l", str(pg_dir / "log"), "start")


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A PostgreSQL of this test's own, since it is stopped: the session's stays up."""
    pg_dir = tmp_path / "pg"
    pg_dir.mkdir()
    server = db.embedded_server(pg_dir, cleanup_mode="delete")
    server.psql("CREATE DATABASE away;")
    url = f"postgresql+asyncpg://postgres:@/away?host={pg_dir}"
    migrate(url)
    yield pg_dir, url
    server.cleanup()


def test_every_endpoint_answers_503_while_postgres_is_away_and_recovers(
    own_postgres: tuple[Path, str], tmp_path: Path
) -> None:
    pg_dir, url = own_postgres
    token = asyncio.run(_create_token(url, "ops@example.org", Role.ADMIN, "Ops"))
    env = {"DATABASE_URL": url, "ACCOUNTFLOW_METRICS_TOKEN": SCRAPE}
    headers = {"Authorization": f"Bearer {token}"}
    with (
        serve(tmp_path, env, "--no-worker") as served,
        httpx.Client(base_url=served.base, headers=headers, timeout=30) as client,
    ):
        assert client.post("/graphql", json={"query": VIEWER}).status_code == 200
        # Restarted while the server idles: its pooled connections are dead, and pinged
        # (the ones idle for IDLE_PING_SECONDS; busy ones are not, see app/web/database.py).
        time.sleep(IDLE_PING_SECONDS)
        _pg_ctl(pg_dir, "-m", "fast", "stop")
        _pg_start(pg_dir)
        assert client.post("/graphql", json={"query": VIEWER}).status_code == 200

        _pg_ctl(pg_dir, "-m", "fast", "stop")
        for method, path, options in NEEDS_THE_DATABASE:
            answer = client.request(method, path, **options)  # type: ignore[arg-type]
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["retry-after"] == "5"
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            assert answer.headers["x-request-id"]
        # Alive (a liveness probe sends no token): nothing to restart.
        assert httpx.get(f"{served.base}/healthz").status_code == 200
        scraped = httpx.get(f"{served.base}/metrics", headers={"Authorization": f"Bearer {SCRAPE}"})
        assert scraped.status_code == 200
        assert samples(scraped.text, "accountflow_database_up") == {"": 0.0}

        _pg_start(pg_dir)
        first = client.post("/graphql", json={"query": VIEWER})
        assert first.status_code == 200, first.text
        assert "errors" not in first.json()
        assert client.get("/readyz").json() == {"status": "ready"}


async def _allow_connections(database_url: str, allow: bool) -> None:
    """Lets the test database take connections or not; when not, ends the ones it has."""
    name = database_url.split("@/", 1)[1].split("?", 1)[0]
    host = database_url.split("host=", 1)[1]
    admin = await asyncpg.connect(host=host, user="postgres", database="postgres")
    try:
        await admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS {str(allow).lower()}")
        if not allow:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                name,
            )
    finally:
        await admin.close()


async def test_a_request_past_the_token_check_is_answered_503_too(
    api: Api, database_url: str
) -> None:
    """Within the token cache's second the edge needs no database, so the endpoint meets
    the failure itself: a streamed export, which starts its answer before reading, and a
    GraphQL query, whose failed field would otherwise be a 200 with "Internal error"."""
    manager = await api.caller(Role.MANAGER)
    headers = {"Authorization": f"Bearer {manager.token}"}
    assert (await api.client.get("/export/accounts.csv", headers=headers)).status_code == 200
    await _allow_connections(database_url, False)
    try:
        exported = await api.client.get("/export/accounts.csv", headers=headers)
        queried = await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)
    finally:
        await _allow_connections(database_url, True)
    for answer in (exported, queried):
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    again = await api.client.get("/export/accounts.csv", headers=headers)
    assert again.status_code == 200
