"""Benchmark: stage reports over 1M stage events and concurrent moves, over HTTP.

Generates (once per data dir) 100,000 accounts with 1,000,000 stage events over two years
by set-based SQL, serves the app with uvicorn in a subprocess and prints JSON figures:

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-handoff .venv/bin/python -m bench.stage_reports

Moves are driven by `wrk` (apt-get install wrk) with a Lua script that rotates accounts and
triggers, so the load generator does not take the server's CPU; `--client httpx` drives them
from Python instead. Server and PostgreSQL CPU per move are read from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from app import db
from app.__main__ import migrate
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.settings import Settings
from bench import NO_BUDGET
from bench.stage_data import SETUP_TIMEOUTS, current_stages, generate, movable_accounts
from schema.relay import to_global_id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def manager_token(url: str) -> str:
    engine = db.create_engine(url, timeouts=SETUP_TIMEOUTS)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await auth.ensure_user_token(
                session, actor=SYSTEM, email="bench.manager@example.org", role=Role.MANAGER
            )
    finally:
        await engine.dispose()


def tree_cpu(root: int | None) -> float:
    """CPU seconds (user + system) of a process and its live descendants, read from /proc."""
    if root is None:
        return 0.0
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo.extend(children.get(pid, []))
    return total


def postmaster_pid(settings: Settings) -> int | None:
    """The embedded PostgreSQL's postmaster (None for an external DATABASE_URL)."""
    if settings.database_url:
        return None
    pid_file = Path(settings.data_dir) / "pg" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**NO_BUDGET, **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "app.web.app:app_from_env",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    return subprocess.Popen(command, env=env)


async def wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(200):
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


THROUGHPUT = """query($from: DateTime!, $to: DateTime!) { stageThroughput(from: $from, to: $to) {
  stages { stage entered exited current medianSecondsInStage p90SecondsInStage
           conversionRate touchesPerStay } } }"""
HANDOFFS = """query($from: DateTime!, $to: DateTime!) { handoffReport(from: $from, to: $to) {
  handoffs accepted pending medianSecondsToAccept
  missingRecommended { requirement count share } blockedBy { requirement count } } }"""
MOVE = """mutation($input: TransitionAccountInput!) { transitionAccount(input: $input) {
  entry { stage } errors { code } } }"""


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


async def time_report(
    client: httpx.AsyncClient, query: str, headers: dict[str, str], runs: int
) -> dict[str, Any]:
    end = datetime.now(UTC)
    variables = {"from": (end - timedelta(days=365)).isoformat(), "to": end.isoformat()}
    samples: list[float] = []
    result: dict[str, Any] = {}
    for i in range(runs + 2):
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        elapsed = time.perf_counter() - started
        result = response.json()
        assert "errors" not in result, result
        if i >= 2:  # two warm-up runs
            samples.append(elapsed)
    return {**summary(samples), "runs": runs, "sample": result["data"]}


async def time_moves(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stages: dict[int, str],
    clients: int,
    moves_per_client: int,
) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[Any] = []

    async def worker(ids: list[int]) -> None:
        for i in range(moves_per_client):
            pk = ids[i % len(ids)]
            trigger = "reopen" if stages[pk] == "LOST" else "lose"
            variables = {"input": {"accountId": to_global_id("Account", pk), "trigger": trigger}}
            started = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": MOVE, "variables": variables}, headers=headers
            )
            latencies.append(time.perf_counter() - started)
            payload = response.json()["data"]["transitionAccount"]
            if payload["errors"]:
                failures.append(payload["errors"])
            else:
                stages[pk] = payload["entry"]["stage"]

    ids = sorted(stages)
    chunks = [ids[i::clients] for i in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(chunk) for chunk in chunks))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "clients": clients,
        "moves": len(latencies),
        "failed": len(failures),
        "moves_per_s": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))] * 1000, 1),
    }


# One wrk thread (-t1); each request takes the next account in turn and flips its trigger
# (lose <-> reopen). With 20 accounts per connection an account's previous move has long
# finished when its turn comes again. A response without `"errors":[]` counts as failed.
WRK_SCRIPT = """
local ids, triggers, n, i = {}, {}, 0, 0
failed = 0 -- global: done() reads it with thread:get
local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer %(token)s"}
local template = %(template)s

function init(args)
  for line in io.lines(args[1]) do
    local id, stage = line:match("^(%%S+) (%%S+)$")
    n = n + 1
    ids[n] = id
    triggers[n] = (stage == "LOST") and "reopen" or "lose"
  end
end

local checked = false
function request()
  if not checked then -- wrk builds one request in thread 1 to check the script, never sent
    checked = true
    return wrk.format("POST", "/graphql", headers, string.format(template, ids[1], "lose"))
  end
  i = i %% n + 1
  local trigger = triggers[i]
  triggers[i] = (trigger == "lose") and "reopen" or "lose"
  local body = string.format(template, ids[i], trigger)
  return wrk.format("POST", "/graphql", headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not body:find('"errors":[]', 1, true) then
    failed = failed + 1
    if failed <= 3 then io.stderr:write("failed move: ", status, " ", body, "\\n") end
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local failures = 0
  for _, thread in ipairs(threads) do
    failures = failures + thread:get("failed")
  end
  io.write(string.format(
    'WRK {"moves": %%d, "seconds": %%.3f, "failed": %%d, "socket_errors": %%d,'
    .. ' "p50_ms": %%.1f, "p90_ms": %%.1f, "p99_ms": %%.1f, "max_ms": %%.1f}',
    summary.requests, summary.duration / 1e6, failures,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000) .. "\\n")
end
"""


def wrk_moves(
    port: int, token: str, stages: dict[int, str], clients: int, seconds: int
) -> dict[str, Any]:
    """Moves for `seconds` from wrk with `clients` connections over the given accounts."""
    body = json.dumps({"query": MOVE, "variables": {"input": {"accountId": "ID", "trigger": "T"}}})
    template = body.replace("%", "%%").replace('"ID"', '"%s"').replace('"T"', '"%s"')
    script = WRK_SCRIPT % {"token": token, "template": json.dumps(template)}
    with tempfile.TemporaryDirectory() as tmp:
        lua, accounts = Path(tmp) / "moves.lua", Path(tmp) / "accounts.txt"
        lua.write_text(script)
        lines = [f"{to_global_id('Account', pk)} {stage}\n" for pk, stage in stages.items()]
        accounts.write_text("".join(lines))
        command = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s"]
        command += ["-s", str(lua), f"http://127.0.0.1:{port}/graphql", "--", str(accounts)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    found = [line for line in done.stdout.splitlines() if line.startswith("WRK ")]
    sys.stderr.write(done.stderr)
    if done.returncode or not found:
        raise RuntimeError(f"cannot parse wrk output:\n{done.stdout}\n{done.stderr}")
    figures: dict[str, Any] = json.loads(found[-1][4:])
    figures["moves_per_s"] = round(figures["moves"] / figures["seconds"], 1)
    return {"clients": clients, **figures}


async def measure_moves(
    args: argparse.Namespace,
    url: str,
    port: int,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    stages: dict[int, str],
    pids: tuple[int, int | None],
) -> dict[str, Any]:
    """Warm up, then measure moves with CPU per move of the server, PostgreSQL and client."""
    load_before = os.getloadavg()
    if args.client == "wrk":
        token = headers["Authorization"].removeprefix("Bearer ")
        wrk_moves(port, token, stages, args.clients, args.warmup_seconds)
        await asyncio.sleep(1)  # moves cut off when wrk stopped may still be committing
        stages = await current_stages(url, sorted(stages))
    else:
        await time_moves(client, headers, stages, args.clients, 10)
    cpu = [tree_cpu(pids[0]), tree_cpu(pids[1]), children_cpu(), time.process_time()]
    if args.client == "wrk":
        figures = wrk_moves(port, token, stages, args.clients, args.seconds)
    else:
        figures = await time_moves(client, headers, stages, args.clients, args.moves)
    server, postgres = tree_cpu(pids[0]) - cpu[0], tree_cpu(pids[1]) - cpu[1]
    client_cpu = children_cpu() - cpu[2] + time.process_time() - cpu[3]
    moves = max(1, figures["moves"])
    return {
        "client": "wrk -t1" if args.client == "wrk" else "httpx",
        **figures,
        "server_cpu_ms_per_move": round(server / moves * 1000, 2),
        "postgres_cpu_ms_per_move": round(postgres / moves * 1000, 2),
        "client_cpu_ms_per_move": round(client_cpu / moves * 1000, 2),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }


async def run(args: argparse.Namespace, url: str, pg_pid: int | None) -> dict[str, Any]:
    generated = await generate(url, force=args.regenerate)
    token = await manager_token(url)
    stages = dict(await movable_accounts(url, args.clients * 20))
    port = free_port()
    server = start_server(url, port, args.workers)
    headers = {"Authorization": f"Bearer {token}"}
    figures: dict[str, Any] = {"data": generated, "workers": args.workers}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
        ) as client:
            await wait_ready(client)
            if args.only in ("all", "reports"):
                figures["stageThroughput"] = await time_report(
                    client, THROUGHPUT, headers, args.runs
                )
                figures["handoffReport"] = await time_report(client, HANDOFFS, headers, args.runs)
            if args.only in ("all", "moves"):
                figures["transitionAccount"] = await measure_moves(
                    args, url, port, client, headers, stages, (server.pid, pg_pid)
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures["load_average"] = os.getloadavg()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk")
    parser.add_argument("--seconds", type=int, default=20, help="wrk: seconds of moves")
    parser.add_argument("--warmup-seconds", type=int, default=3, help="wrk: warm-up seconds")
    parser.add_argument("--moves", type=int, default=150, help="httpx: moves per client")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--only", choices=["all", "reports", "moves"], default="all")
    args = parser.parse_args()
    if args.client == "wrk" and args.only != "reports" and shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get update && apt-get install -y wrk (or --client httpx)")
    settings = Settings.from_env()
    os.environ.setdefault("ACCOUNTFLOW_DATA_DIR", str(Path(settings.data_dir)))
    url = settings.database_url or db.start_embedded_postgres(settings.data_dir)
    migrate(url)
    figures = asyncio.run(run(args, url, postmaster_pid(settings)))
    print(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
