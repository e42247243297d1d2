"""The fast executor (schema/executor.py) against graphql-core alone, on what strawberry answers.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-executor .venv/bin/python -m bench.executor

Both servers keep the compiled read path on (ACCOUNTFLOW_COMPILED_READS=1), so only the
operations it does not answer are timed: mutations (updateAccount with expectedVersion,
addContact, logActivity), an accounts search, logActivities with 100 and 1,000 events, and
two reads strawberry answers (AccountRevenue by `node`: revenue fields are not compiled; and
AccountList filtered by managerType, a filter the compiled path leaves to strawberry). Every
answer must come with `x-accountflow-executor: graphql` and without errors.

Two uvicorn workers of the real app run side by side on the same data, one started with
ACCOUNTFLOW_FAST_EXECUTOR=1 (`fast`), one with =0 (`off`); only one is sent requests at a
time. Per round and operation each gets a block in turn, the order flipping every round
(fast then off, off then fast, ...), so that load coming and going on the shared machine and
the growing activities table meet both. A block: 3 warm-up requests, then `--requests`
requests one after another (logActivities of 1,000: a quarter as many), then as many from
`--clients` concurrent clients. CPU per request is read from /proc around each block, for
the server process and for PostgreSQL (all its backends).

Data (when the database has no accounts): bench.records' set-up at `--accounts` accounts
(bench.generate's accounts and contacts, a SALES assignment on every second account, a
default-pipeline entry on each, invoices, tags), an admin token and an integration token.
Prints one JSON object on stdout and a Markdown table on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from app import db
from app.activities.models import ActivityKind
from bench import peer_servers as servers
from bench.generate import database_url
from bench.records import prepare
from schema.relay import from_global_id, to_global_id

CONTRACT = Path(__file__).resolve().parents[1] / "tests" / "contract"
CONFIGS = {"fast": "1", "off": "0"}
ISSUE_GROUPS = ("mutation", "search", "logActivities")  # what the issue asks about
KINDS = [k.value for k in ActivityKind if k.value != "NOTE"]
# One word each, as typed into a search box: every page is full (50 of a few hundred).
TERMS = ("keller", "agrar", "weber", "technik", "münster")
REPS = 20  # bench.records makes rep0@bench.io … rep19@bench.io
PREFIX = "gen42"  # bench.generate's default: heads are gen42-1 … gen42-<heads>

# Not in the contract: the single-event mutation with a payload like LogActivities'.
LOG_ACTIVITY = """\
mutation LogActivity($input: LogActivityInput!) {
  logActivity(input: $input) {
    activity { id kind occurredAt }
    duplicate
    errors { code message field }
  }
}
"""


def operation(file: str, name: str) -> str:
    """One operation of a contract file, verbatim (up to the next operation)."""
    source = (CONTRACT / file).read_text()
    start = re.search(rf"^(query|mutation) {name}\b", source, re.MULTILINE)
    if start is None:
        raise LookupError(f"{name} not in {file}")
    following = re.compile(r"^(query|mutation) ", re.MULTILINE).search(source, start.end())
    return source[start.start() : following.start() if following else len(source)].strip()


@dataclass(slots=True)
class World:
    """What the request bodies refer to: tokens, account ids and their versions."""

    admin: str
    erp: str
    accounts: list[int]
    versions: dict[int, int] = field(default_factory=dict)
    run: str = field(default_factory=lambda: f"{time.time_ns():x}")
    counter: int = 0

    def next(self) -> int:
        self.counter += 1
        return self.counter


@dataclass(slots=True)
class Op:
    name: str
    group: str  # the issue's groups (mutation, search, logActivities), or read
    token: str  # "admin" or "erp"
    body: Callable[[World, int], dict[str, Any]]
    check: Callable[[World, dict[str, Any]], None]
    share: float = 1.0  # of --requests


def _no_errors(root: str, key: str = "errors") -> Callable[[World, dict[str, Any]], None]:
    def check(world: World, data: dict[str, Any]) -> None:
        problems = data[root][key]
        if problems:
            raise RuntimeError(f"{root}: {str(problems)[:300]}")

    return check


def _events(world: World, count: int, heads: int) -> list[dict[str, Any]]:
    rng = random.Random(world.next())
    now = datetime.now(UTC)
    events = []
    for _ in range(count):
        kind = rng.choice(KINDS)
        event: dict[str, Any] = {
            "accountExternalRef": f"{PREFIX}-{rng.randint(1, heads)}",
            "kind": kind,
            "occurredAt": (now - timedelta(seconds=rng.randint(0, 300 * 86400))).isoformat(),
            "source": "bench-executor",
            "externalId": f"{world.run}-{world.next()}",
            "summary": f"{kind.lower()} from the executor benchmark",
        }
        if rng.random() < 0.5:
            event["userEmail"] = f"rep{rng.randrange(REPS)}@bench.io"
        if kind in ("INVOICE", "QUOTE", "PARTS_PURCHASE"):
            event["amount"] = f"{rng.randint(100, 999_999) / 100:.2f}"
        events.append(event)
    return events


def operations(heads: int) -> list[Op]:
    def account(world: World, i: int) -> int:
        return world.accounts[i % len(world.accounts)]

    def update_body(world: World, i: int) -> dict[str, Any]:
        pk = account(world, i)
        patch: dict[str, Any] = {
            "industry": random.choice(["Agriculture", "Forestry", "Construction"])
        }
        patch["attributes"] = {"touched": world.next()}
        item = {"id": to_global_id("Account", pk), "expectedVersion": world.versions[pk]}
        return {"input": item | patch}

    def update_check(world: World, data: dict[str, Any]) -> None:
        _no_errors("updateAccount")(world, data)
        got = data["updateAccount"]["account"]
        world.versions[from_global_id(got["id"])[1]] = got["version"]

    def contact_body(world: World, i: int) -> dict[str, Any]:
        n = world.next()
        item = {
            "accountId": to_global_id("Account", account(world, i)),
            "name": f"Bench Contact {n}",
            "title": "Fleet Manager",
            "email": f"contact{world.run}-{n}@bench.example.com",
            "buyingRole": "INFLUENCER",
        }
        return {"input": item}

    def log_one(world: World, i: int) -> dict[str, Any]:
        return {"input": _events(world, 1, heads)[0]}

    def log_many(count: int) -> Callable[[World, int], dict[str, Any]]:
        return lambda world, i: {"input": {"activities": _events(world, count, heads)}}

    def log_check(world: World, data: dict[str, Any]) -> None:
        payload = data["logActivities"]
        if payload["rejected"] or payload["duplicateCount"]:
            raise RuntimeError(f"logActivities: {str(payload)[:300]}")

    def search_body(world: World, i: int) -> dict[str, Any]:
        return {"first": 50, "filter": {"search": TERMS[i % len(TERMS)]}}

    def search_check(world: World, data: dict[str, Any]) -> None:
        if len(data["accounts"]["edges"]) != 50:
            raise RuntimeError("the search page is not full")

    def detail_body(world: World, i: int) -> dict[str, Any]:
        return {"id": to_global_id("Account", account(world, i))}

    def detail_check(world: World, data: dict[str, Any]) -> None:
        if not data["node"] or not data["node"]["revenueByYear"]:
            raise RuntimeError("AccountRevenue found nothing")

    def list_body(world: World, i: int) -> dict[str, Any]:
        return {"first": 100, "filter": {"managerType": "SALES"}}

    def list_check(world: World, data: dict[str, Any]) -> None:
        if len(data["accounts"]["edges"]) != 100:
            raise RuntimeError("AccountList(managerType) returned a short page")

    return [
        Op("UpdateAccount", "mutation", "admin", update_body, update_check),
        Op("AddContact", "mutation", "admin", contact_body, _no_errors("addContact")),
        Op("LogActivity", "mutation", "erp", log_one, _no_errors("logActivity")),
        Op("AccountSearch", "search", "admin", search_body, search_check),
        Op("LogActivities", "logActivities", "erp", log_many(100), log_check),
        Op("LogActivities", "logActivities", "erp", log_many(1000), log_check, share=0.25),
        Op("AccountRevenue", "read", "admin", detail_body, detail_check),
        Op("AccountList", "read", "admin", list_body, list_check),
    ]


QUERIES = {
    "UpdateAccount": operation("accounts.graphql", "UpdateAccount"),
    "AddContact": operation("accounts.graphql", "AddContact"),
    "LogActivity": LOG_ACTIVITY,
    "AccountSearch": operation("records.graphql", "AccountSearch"),
    "LogActivities": operation("cadence.graphql", "LogActivities"),
    "AccountRevenue": operation("records.graphql", "AccountRevenue"),
    "AccountList": operation("accounts.graphql", "AccountList"),
}


def label(op: Op) -> str:
    if op.name == "LogActivities":
        return "LogActivities x100" if op.share == 1.0 else "LogActivities x1000"
    if op.name == "AccountList":
        return "AccountList managerType first:100"
    return op.name


async def send(
    http: httpx.AsyncClient, world: World, op: Op, body: bytes
) -> tuple[float, dict[str, Any]]:
    token = world.admin if op.token == "admin" else world.erp
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    started = time.perf_counter()
    response = await http.post("/graphql", content=body, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    answer: dict[str, Any] = response.json()
    if response.status_code != 200 or answer.get("errors"):
        raise RuntimeError(f"{label(op)}: {response.status_code} {str(answer)[:400]}")
    if response.headers.get("x-accountflow-executor") != "graphql":
        raise RuntimeError(f"{label(op)} was not answered by strawberry: {response.headers}")
    op.check(world, answer["data"])
    return elapsed, answer


def encode(world: World, op: Op, i: int) -> bytes:
    return orjson.dumps({"query": QUERIES[op.name], "variables": op.body(world, i)})


async def measure_op(
    port: int, world: World, op: Op, count: int, clients: int, pids: tuple[int, int | None]
) -> dict[str, Any]:
    """`count` requests from `clients` clients (bodies built first); latencies and CPU."""
    # Bodies of mutations that carry a version are built when sent (the version moves).
    lazy = op.name == "UpdateAccount"
    bodies = [b""] * count if lazy else [encode(world, op, i) for i in range(count)]
    queue = list(range(count))
    latencies: list[float] = []

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            i = queue.pop(0)
            body = encode(world, op, i) if lazy else bodies[i]
            ms, _ = await send(http, world, op, body)
            latencies.append(ms)

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
    ) as http:
        for i in range(3):  # warm-up: caches, prepared statements, the plan
            await send(http, world, op, encode(world, op, count + i))
        server_pid, pg_pid = pids
        cpu = servers.tree_cpu(server_pid), servers.tree_cpu(pg_pid) if pg_pid else 0.0
        started = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        server_cpu = servers.tree_cpu(server_pid) - cpu[0]
        pg_cpu = (servers.tree_cpu(pg_pid) - cpu[1]) if pg_pid else 0.0
    return {
        "latencies_ms": latencies,
        "elapsed_s": elapsed,
        "server_cpu_s": server_cpu,
        "postgres_cpu_s": pg_cpu,
    }


async def load_world_versions(url: str, world: World) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT id, version FROM accounts WHERE id = ANY(:ids)"),
                {"ids": world.accounts},
            )
            world.versions = {int(pk): int(version) for pk, version in rows}
    finally:
        await engine.dispose()


async def pick_accounts(url: str, count: int) -> tuple[list[int], int]:
    """Unarchived head accounts spread over the table, and how many heads bench.generate made."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            heads = await conn.scalar(
                text("SELECT count(*) FROM accounts WHERE external_ref ~ :pattern"),
                {"pattern": f"^{PREFIX}-[0-9]+$"},
            )
            rows = await conn.execute(
                text(
                    "SELECT id FROM accounts WHERE archived_at IS NULL AND parent_id IS NULL "
                    "ORDER BY md5(id::text) LIMIT :n"
                ),
                {"n": count},
            )
            return [int(r[0]) for r in rows], int(heads or 0)
    finally:
        await engine.dispose()


def fallbacks(port: int, token: str) -> int:
    """The fast executor's fallbacks to graphql-core so far (its Prometheus counter)."""
    response = httpx.get(
        f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    total = 0.0
    for line in response.text.splitlines():
        if line.startswith("accountflow_executor_fallbacks_total"):
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def run_all(
    url: str, world: World, ops: list[Op], args: argparse.Namespace
) -> list[tuple[str, dict[str, Any]]]:
    """Both servers side by side; per round and operation one block on each, in turn.

    Only one server is sent requests at a time. Blocks of the two configurations follow
    each other within seconds, so a load that comes and goes on the machine meets both;
    the order flips every round (fast then off, off then fast, ...).
    """
    specs = []
    for offset, name in enumerate(CONFIGS):
        env = {"ACCOUNTFLOW_FAST_EXECUTOR": CONFIGS[name], "ACCOUNTFLOW_COMPILED_READS": "1"}
        specs.append(servers.accountflow(name, args.port + offset, url, workers=1, env=env))
    ports = {spec.name: spec.port for spec in specs}
    asyncio.run(load_world_versions(url, world))
    runs: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory() as tmp, servers.running(specs, Path(tmp)) as processes:
        pg_pid = servers.postmaster_pid(url)
        for round_ in range(args.rounds):
            order = list(CONFIGS) if round_ % 2 == 0 else list(reversed(CONFIGS))
            figures: dict[str, dict[str, Any]] = {name: {} for name in order}
            for name in order:
                figures[name]["load_before"] = round(os.getloadavg()[0], 2)
            for op in ops:
                count = max(4, round(args.requests * op.share))
                modes = [("sequential", 1)] + ([("concurrent", args.clients)] * (args.clients > 1))
                for mode, clients in modes:
                    for name in order:
                        pids = (processes[name].pid, pg_pid)
                        block = measure_op(ports[name], world, op, count, clients, pids)
                        figures[name].setdefault(label(op), {})[mode] = asyncio.run(block)
            for name in order:
                figures[name]["load_after"] = round(os.getloadavg()[0], 2)
                figures[name]["fallbacks"] = fallbacks(ports[name], world.admin)
                runs.append((name, figures[name]))
    return runs


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(runs: list[tuple[str, dict[str, Any]]], ops: list[Op]) -> dict[str, Any]:
    """Pooled over the rounds, per operation and configuration, and the saving of `fast`."""
    summary: dict[str, Any] = {}
    for op in ops:
        key = label(op)
        entry: dict[str, Any] = {"group": op.group}
        for mode in ("sequential", "concurrent"):
            per: dict[str, Any] = {}
            for config in CONFIGS:
                parts = [f[key][mode] for n, f in runs if n == config and mode in f[key]]
                if not parts:
                    continue
                latencies = [ms for p in parts for ms in p["latencies_ms"]]
                requests = len(latencies)
                per[config] = {
                    "requests": requests,
                    "p50_ms": round(statistics.median(latencies), 2),
                    "p90_ms": round(_pct(latencies, 0.9), 2),
                    "req_per_s": round(requests / sum(p["elapsed_s"] for p in parts), 2),
                    "server_cpu_ms": round(
                        1000 * sum(p["server_cpu_s"] for p in parts) / requests, 2
                    ),
                    "postgres_cpu_ms": round(
                        1000 * sum(p["postgres_cpu_s"] for p in parts) / requests, 2
                    ),
                    "p50_ms_per_round": [
                        round(statistics.median(p["latencies_ms"]), 2) for p in parts
                    ],
                }
            if len(per) == 2:
                fast, off = per["fast"], per["off"]
                per["saving_pct"] = {
                    "p50": round(100 * (1 - fast["p50_ms"] / off["p50_ms"]), 1),
                    "req_per_s": round(100 * (1 - off["req_per_s"] / fast["req_per_s"]), 1),
                    "server_cpu": round(
                        100 * (1 - fast["server_cpu_ms"] / off["server_cpu_ms"]), 1
                    ),
                }
            if per:
                entry[mode] = per
        summary[key] = entry
    groups: dict[str, Any] = {}
    sets: dict[str, tuple[str, ...]] = {g: (g,) for g in dict.fromkeys(op.group for op in ops)}
    sets["the issue's (mutation + search + logActivities)"] = ISSUE_GROUPS
    for group, names in sets.items():
        members = [s["sequential"] for s in summary.values() if s["group"] in names]
        p50 = {c: round(sum(m[c]["p50_ms"] for m in members), 2) for c in CONFIGS}
        cpu = {c: round(sum(m[c]["server_cpu_ms"] for m in members), 2) for c in CONFIGS}
        groups[group] = {
            "sum_p50_ms": p50,
            "sum_server_cpu_ms": cpu,
            "saving_pct": {
                "p50": round(100 * (1 - p50["fast"] / p50["off"]), 1),
                "server_cpu": round(100 * (1 - cpu["fast"] / cpu["off"]), 1),
            },
        }
    summary["groups (sequential, one request of each operation)"] = groups
    return summary


def table(summary: dict[str, Any]) -> str:
    lines = [
        "| operation | fast p50 / p90 ms | off p50 / p90 ms | p50 saving | "
        "server CPU ms fast / off | CPU saving | 4-client req/s fast / off |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, entry in summary.items():
        if "sequential" not in entry:
            continue
        s = entry["sequential"]
        c = entry.get("concurrent", {})
        rps = f"{c['fast']['req_per_s']} / {c['off']['req_per_s']}" if c else "-"
        lines.append(
            f"| {key} | {s['fast']['p50_ms']} / {s['fast']['p90_ms']} | "
            f"{s['off']['p50_ms']} / {s['off']['p90_ms']} | {s['saving_pct']['p50']}% | "
            f"{s['fast']['server_cpu_ms']} / {s['off']['server_cpu_ms']} | "
            f"{s['saving_pct']['server_cpu']}% | {rps} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--contacts", type=int, default=60_000)
    parser.add_argument("--requests", type=int, default=20, help="per operation and block")
    parser.add_argument("--clients", type=int, default=4, help="1: no concurrent phase")
    parser.add_argument("--rounds", type=int, default=4, help="blocks per operation and server")
    parser.add_argument("--port", type=int, default=8795, help="fast; off is +1")
    args = parser.parse_args(argv)
    url = database_url()
    admin, erp = asyncio.run(prepare(url, args.accounts, args.contacts))
    accounts, heads = asyncio.run(pick_accounts(url, 400))
    world = World(admin, erp, accounts)
    ops = operations(heads)
    result: dict[str, Any] = {
        "load_avg_before": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "accounts": args.accounts,
        "requests": args.requests,
        "clients": args.clients,
        "rounds": args.rounds,
    }
    runs = run_all(url, world, ops, args)
    result["loads"] = [(n, f["load_before"], f["load_after"]) for n, f in runs]
    result["fallbacks"] = [(n, f["fallbacks"]) for n, f in runs]
    result["summary"] = summarize(runs, ops)
    result["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    print(table(result["summary"]), file=sys.stderr)


if __name__ == "__main__":
    main()
