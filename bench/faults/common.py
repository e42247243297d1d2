"""The server, the database and the requests the fault scenarios share."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from app import db
from app.__main__ import migrate
from app.settings import Settings
from bench.ingest import raw_connection, seed_accounts
from bench.stage_reports import free_port, manager_token

LOG_ACTIVITIES = """mutation($input: LogActivitiesInput!) { logActivities(input: $input) {
  acceptedCount duplicateCount rejected { index } errors { code } } }"""
# The seeded accounts enter the default pipeline (the API does that on createAccount).
ENTER_PIPELINE = """INSERT INTO pipeline_entries (account_id, pipeline_id, stage, entered_at)
    SELECT a.id, p.id, 'PROSPECT', now() FROM accounts a CROSS JOIN pipelines p
    WHERE p.key = 'default' AND a.external_ref LIKE $1
    ON CONFLICT (account_id, pipeline_id) DO NOTHING"""
ACCOUNTS = 2_000
YEAR_SECONDS = 365 * 86_400  # events stay within the last year, far from any bound
REPS = 20
PREFIX = "FLT"


# --- the server and the database --------------------------------------------------------


class Server:
    """`accountflow serve` in its own process group, so kill -9 takes every worker."""

    def __init__(self, setup: Setup, workers: int) -> None:
        self.url, self.port, self.workers = setup.url, free_port(), workers
        self.log = setup.pg_dir.parent / "faults-server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # SOAK_PROFILE set: the same server under bench/faults/profiled.py's memory profile.
        module = "bench.faults.profiled" if os.environ.get("SOAK_PROFILE") else "app"
        command = [sys.executable, "-m", module, "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        env = os.environ | {"DATABASE_URL": self.url, "LOG_LEVEL": "ERROR"}
        with self.log.open("ab") as log:  # the server's tracebacks, kept out of the figures
            self.process = subprocess.Popen(
                command, env=env, start_new_session=True, stdout=log, stderr=log
            )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill(signal.SIGTERM)

    def rss_kib(self) -> int:
        """Resident memory of the server and its workers, from /proc."""
        assert self.process is not None
        total = 0
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                fields = dict(
                    line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
                )
                if os.getpgid(int(status.parent.name)) != self.process.pid:
                    continue
            except (OSError, ValueError):
                continue
            total += int(fields.get("VmRSS", "0 kB").split()[0])
        return total


def pg_ctl(pg_dir: Path, *args: str) -> None:
    """pg_ctl of the wheel's PostgreSQL, as the user that owns the data dir."""
    from pgserver._commands import POSTGRES_BIN_PATH

    owner = pg_dir.stat().st_uid
    user = owner if owner != os.getuid() else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pg_dir), "-w", *args]
    subprocess.run(command, check=True, user=user, capture_output=True, timeout=60)


def pg_stop(pg_dir: Path) -> None:
    pg_ctl(pg_dir, "-m", "fast", "stop")


def pg_start(pg_dir: Path) -> None:
    # The options pgserver starts it with: no TCP, the socket in the data dir.
    pg_ctl(pg_dir, "-o", '-h ""', "-o", f"-k {pg_dir}", "-l", str(pg_dir / "log"), "start")


@dataclass
class Setup:
    url: str
    pg_dir: Path
    integration: str
    manager: str


async def prepare() -> Setup:
    settings = Settings.from_env()
    url = db.resolve_database_url(settings)
    await asyncio.to_thread(migrate, url)
    integration = await seed_accounts(url, accounts=ACCOUNTS, reps=REPS, prefix=PREFIX)
    await sql(url, ENTER_PIPELINE, f"{PREFIX}-%")
    return Setup(url, settings.data_dir / "pg", integration, await manager_token(url))


async def sql(url: str, query: str, *args: Any) -> Any:
    connection = await raw_connection(url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


def batch_body(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"query": LOG_ACTIVITIES, "variables": {"input": {"activities": events}}})


def unique_events(n: int, *, tag: str, start: int = 0) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "accountExternalRef": f"{PREFIX}-{1 + (start + i) % ACCOUNTS}",
            "kind": "CALL_OUTBOUND",
            "occurredAt": (now - timedelta(seconds=(start + i) % YEAR_SECONDS)).isoformat(),
            "source": "faults",
            "externalId": f"{tag}-{start + i}",
        }
        for i in range(n)
    ]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def outcome_of(response: httpx.Response, root: str) -> str:
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    body = response.json()
    if body.get("errors"):
        return str(body["errors"][0].get("extensions", {}).get("code", "ERROR"))
    payload = (body.get("data") or {}).get(root) or {}
    if payload.get("errors"):
        return str(payload["errors"][0]["code"])
    if payload.get("rejected"):
        return "REJECTED"
    return "ok"


async def request(http: httpx.AsyncClient, body: bytes, token: str, root: str) -> str:
    try:
        response = await http.post("/graphql", content=body, headers=auth(token))
    except httpx.TransportError as error:
        return type(error).__name__
    return outcome_of(response, root)
