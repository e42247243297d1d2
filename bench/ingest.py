"""logActivities ingest over HTTP, beside a COPY of the same rows (the floor).

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-cadence .venv/bin/python -m bench.ingest --workers 2

200,000 events (10% repeats of earlier ones) in batches of 1,000 are sent by 4 concurrent
clients to `accountflow serve` on 127.0.0.1 (a subprocess with DATABASE_URL set). Accounts,
users and assignments are made by set-based SQL; the activities table is emptied first.
Afterwards the table must hold exactly the unique events. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import orjson
import psutil  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app import db
from app.__main__ import migrate
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.auth import Role
from app.settings import Settings
from bench import NO_BUDGET

LOG_ACTIVITIES = """\
mutation LogActivities($input: LogActivitiesInput!) {
  logActivities(input: $input) {
    acceptedCount
    duplicateCount
    rejected { index errors { code message field } }
  }
}
"""
KINDS = [k.value for k in ActivityKind]
COLUMNS = ["account_id", "kind", "occurred_at", "user_id", "amount", "source", "external_id"]


def database_url() -> str:
    settings = Settings.from_env()
    return settings.database_url or db.start_embedded_postgres(settings.data_dir)


async def raw_connection(url: str) -> asyncpg.Connection:
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host
    return await asyncpg.connect(
        host=host, port=parsed.port, user=parsed.username, database=parsed.database
    )


async def seed_accounts(url: str, *, accounts: int, reps: int, prefix: str) -> str:
    """Reps, accounts with an externalRef and two assignments each; an integration token."""
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            seeded = await session.scalar(
                text("SELECT count(*) FROM accounts WHERE external_ref LIKE :p"),
                {"p": f"{prefix}-%"},
            )
            if not seeded:
                await session.execute(
                    text(
                        "INSERT INTO users (email, name, role) SELECT 'rep' || g || '@bench.io', "
                        "'Rep ' || g, 'REP' FROM generate_series(1, :reps) g "
                        "ON CONFLICT (email) DO NOTHING"
                    ),
                    {"reps": reps},
                )
                await session.execute(
                    text(
                        "INSERT INTO accounts (name, classification, external_ref) "
                        "SELECT 'Account ' || g, (ARRAY['A','B','C','D'])[1 + g % 4], "
                        ":p || '-' || g FROM generate_series(1, :n) g"
                    ),
                    {"p": prefix, "n": accounts},
                )
                await session.execute(
                    text(
                        "INSERT INTO assignments (account_id, user_id, manager_type, "
                        "contact_frequency_days, started_at) "
                        "SELECT a.id, u.id, t.type, (ARRAY[7, 14, 30, 60, 90])[1 + a.id % 5], "
                        "now() - interval '400 days' "
                        "FROM accounts a CROSS JOIN (VALUES ('SALES'), ('PARTS')) t(type) "
                        "JOIN users u ON u.email = 'rep' || (1 + (a.id + length(t.type)) % :reps)"
                        " || '@bench.io' WHERE a.external_ref LIKE :like"
                    ),
                    {"reps": reps, "like": f"{prefix}-%"},
                )
            return await auth.ensure_user_token(
                session, actor=SYSTEM, email="erp@bench.io", role=Role.INTEGRATION, name="ERP"
            )
    finally:
        await engine.dispose()


def make_events(
    *, total: int, repeat_share: float, accounts: int, reps: int, prefix: str, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(events to send in order, the unique events): repeats are copies of earlier ones."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    unique_count = round(total * (1 - repeat_share))
    unique: list[dict[str, Any]] = []
    for n in range(unique_count):
        kind = rng.choice(KINDS)
        event: dict[str, Any] = {
            "accountExternalRef": f"{prefix}-{rng.randint(1, accounts)}",
            "kind": kind,
            "occurredAt": (now - timedelta(seconds=rng.randint(0, 365 * 86400))).isoformat(),
            "source": "bench",
            "externalId": f"E{seed}-{n}",
            "summary": f"{kind.lower()} about order {n}",
        }
        if rng.random() < 0.5:
            event["userEmail"] = f"rep{rng.randint(1, reps)}@bench.io"
        if kind in ("INVOICE", "QUOTE", "PARTS_PURCHASE"):
            event["amount"] = f"{rng.randint(100, 999_999) / 100:.2f}"
        unique.append(event)
    events = list(unique)
    for _ in range(total - unique_count):
        position = rng.randint(1, len(events))
        events.insert(position, unique[rng.randrange(min(position, unique_count))])
    return events, unique


@contextmanager
def serve(url: str, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers)]
    env = {**NO_BUDGET, **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


async def send_all(
    port: int, token: str, bodies: list[bytes], clients: int
) -> tuple[float, dict[str, int], list[float]]:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            while not queue.empty():
                body = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post("/graphql", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                result = response.json()
                if "errors" in result:
                    raise RuntimeError(result["errors"])
                payload = result["data"]["logActivities"]
                totals["accepted"] += payload["acceptedCount"]
                totals["duplicates"] += payload["duplicateCount"]
                totals["rejected"] += len(payload["rejected"])

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, totals, latencies


async def copy_floor(url: str, unique: list[dict[str, Any]], prefix: str) -> float:
    """The same unique rows with COPY, ids resolved beforehand (what the API must look up)."""
    connection = await raw_connection(url)
    try:
        refs = dict(
            await connection.fetch(
                "SELECT external_ref, id FROM accounts WHERE external_ref LIKE $1", f"{prefix}-%"
            )
        )
        users = dict(await connection.fetch("SELECT email, id FROM users"))
        records = [
            (
                refs[e["accountExternalRef"]],
                e["kind"],
                datetime.fromisoformat(e["occurredAt"]),
                users.get(e.get("userEmail")),
                None if "amount" not in e else Decimal(e["amount"]),
                e["source"],
                e["externalId"],
            )
            for e in unique
        ]
        await connection.execute("TRUNCATE activities CASCADE")  # tasks may name one
        started = time.perf_counter()
        await connection.copy_records_to_table("activities", records=records, columns=COLUMNS)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def postgres_data_dir(url: str) -> str:
    connection = await raw_connection(url)
    try:
        return str(await connection.fetchval("SELECT current_setting('data_directory')"))
    finally:
        await connection.close()


def postgres_cpu_s(data_dir: str) -> float:
    """CPU seconds of the PostgreSQL server's exited children (the backends, once their
    connections close) and of the postmaster itself, from /proc."""
    time.sleep(1)  # closed connections' backends exit and are reaped
    with open(os.path.join(data_dir, "postmaster.pid")) as pid_file:
        pid = pid_file.readline().strip()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime are fields 14-17 of stat(5); fields[0] is field 3.
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and all its descendants so far, living or exited: each
    living one's own time plus what it reaped (an exited process's time is counted by
    the living ancestor that reaped it). Differences bracket a run without start-up."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def postmaster_pid(data_dir: str) -> int:
    with open(os.path.join(data_dir, "postmaster.pid")) as pid_file:
        return int(pid_file.readline())


async def count_activities(url: str) -> int:
    connection = await raw_connection(url)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM activities"))
    finally:
        await connection.close()


async def reset(url: str) -> None:
    connection = await raw_connection(url)
    try:
        await connection.execute("TRUNCATE activities CASCADE")  # tasks may name one
        await connection.execute(
            "UPDATE assignments SET last_contact_at = NULL, contact_days = '{}'"
        )
        await connection.execute("VACUUM ANALYZE assignments")
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--repeats", type=float, default=0.10)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    prefix = "ING"
    url = database_url()
    migrate(url)
    token = asyncio.run(seed_accounts(url, accounts=args.accounts, reps=args.reps, prefix=prefix))
    asyncio.run(reset(url))
    events, unique = make_events(
        total=args.events,
        repeat_share=args.repeats,
        accounts=args.accounts,
        reps=args.reps,
        prefix=prefix,
        seed=args.seed,
    )
    bodies = [
        orjson.dumps(
            {
                "query": LOG_ACTIVITIES,
                "variables": {"input": {"activities": events[i : i + args.batch]}},
            }
        )
        for i in range(0, len(events), args.batch)
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    data_dir = asyncio.run(postgres_data_dir(url))
    postgres_before = postgres_cpu_s(data_dir)
    postmaster = postmaster_pid(data_dir)
    with serve(url, args.port, args.workers) as server:
        run_before = (tree_cpu_s(server.pid), tree_cpu_s(postmaster))
        elapsed, totals, latencies = asyncio.run(send_all(args.port, token, bodies, args.clients))
        run_after = (tree_cpu_s(server.pid), tree_cpu_s(postmaster))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The server and its workers, reaped when it stops (PostgreSQL's CPU is not included).
    server_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    postgres_cpu = postgres_cpu_s(data_dir) - postgres_before
    stored = asyncio.run(count_activities(url))
    floor = asyncio.run(copy_floor(url, unique, prefix))
    rate = len(events) / elapsed
    floor_rate = len(unique) / floor
    result = {
        "events": len(events),
        "unique": len(unique),
        "batches": len(bodies),
        "clients": args.clients,
        "server_workers": args.workers,
        "elapsed_s": round(elapsed, 2),
        "events_per_s": round(rate),
        "server_cpu_ms_per_1000_events": round(server_cpu / len(events) * 1e6, 1),
        "postgres_cpu_ms_per_1000_events": round(postgres_cpu / len(events) * 1e6, 1),
        # The same, within the run only (no server start-up, no data set-up).
        "run_server_cpu_ms_per_1000_events": round(
            (run_after[0] - run_before[0]) / len(events) * 1e6, 1
        ),
        "run_postgres_cpu_ms_per_1000_events": round(
            (run_after[1] - run_before[1]) / len(events) * 1e6, 1
        ),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "batch_max_ms": round(max(latencies) * 1000, 1),
        **totals,
        "stored": stored,
        "exactly_unique_stored": stored == len(unique) == totals["accepted"],
        "copy_floor_s": round(floor, 2),
        "copy_floor_rows_per_s": round(floor_rate),
        "ratio_to_copy_floor": round(rate / floor_rate, 3),
        "load_average": os.getloadavg(),
    }
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
