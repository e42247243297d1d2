"""AccountList `first: 100` on one database: accountflow beside PostGraphile V5 and bare.py.

    .venv/bin/python -m bench.peers    # [--rounds 3] [--seconds 15] [--compiled both] [--workers2]

One command does everything: wrk (apt-get, when missing and root), Node 22 and PostGraphile 5
(npm, into bench/.peers/), the database (100,000 accounts and 300,000 contacts by
bench.generate, kept in bench/.data/peers/ unless ACCOUNTFLOW_DATA_DIR or DATABASE_URL say
otherwise, so reruns skip it). Every server runs at once, idle while another is measured;
each round drives each one in turn with `wrk -t1 -c16`, A B C A B C. Prints one table per
round, the medians and the ratios, then one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import os
import statistics
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import orjson

from bench import peer_servers as servers
from bench.accounts_list import ACCOUNT_LIST, parse_wrk, prepare, wrk_script
from bench.generate import database_url

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / ".data" / "peers"

# The closest PostGraphile (amber preset) query over our tables: the same page order, the
# same nested lists. Amber offers conditions on indexed columns only, so no `archivedAt:
# null` (no generated account is archived); assignment `status` is computed in our API,
# not a column; the pipeline is not narrowed to "default" (there is one).
PEER_LIST = """\
query AccountList($first: Int) {
  allAccounts(first: $first, orderBy: [NAME_ASC, PRIMARY_KEY_ASC]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id
        name
        classification
        industry
        city
        region
        countryCode
        assignmentsByAccountId(orderBy: PRIMARY_KEY_ASC) {
          nodes {
            id
            managerType
            contactFrequencyDays
            nextContactDue
            userByUserId { id name }
          }
        }
        contactsByAccountId(orderBy: PRIMARY_KEY_ASC) { nodes { id name buyingRole } }
        pipelineEntriesByAccountId(orderBy: PRIMARY_KEY_ASC) {
          nodes { stage enteredAt userByOwnerId { id name } }
        }
      }
    }
  }
}
"""


def body(query: str, first: int) -> bytes:
    payload = {"query": query, "operationName": "AccountList", "variables": {"first": first}}
    return orjson.dumps(payload)


def post(port: int, payload: bytes, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=payload,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = orjson.loads(response.read())
    return answer


def _pk(global_id: str) -> int:
    """Our ids are base64 'Type:pk', PostGraphile's base64 '["Type","pk"]'."""
    decoded = base64.b64decode(global_id).decode()
    if decoded.startswith("["):
        return int(orjson.loads(decoded)[1])
    return int(decoded.rsplit(":", 1)[1])


def digest(answer: dict[str, Any]) -> list[Any]:
    """What both APIs must agree on: accounts in order, each with its contacts."""
    if "errors" in answer:
        raise RuntimeError(f"errors in the answer: {str(answer['errors'])[:500]}")
    connection = answer["data"].get("accounts") or answer["data"]["allAccounts"]
    rows = []
    for edge in connection["edges"]:
        node = edge["node"]
        contacts = node.get("contacts")
        if contacts is None:
            contacts = node["contactsByAccountId"]["nodes"]
        people = [(_pk(c["id"]), c["name"], c["buyingRole"]) for c in contacts]
        rows.append((_pk(node["id"]), node["name"], node["classification"], people))
    return [connection["totalCount"], connection["pageInfo"]["hasNextPage"], rows]


def variants(args: argparse.Namespace, url: str, port: int) -> list[servers.Spec]:
    """accountflow (1 worker; compiled reads as asked), PostGraphile, bare, then extras."""
    compiled: dict[str, list[tuple[str, dict[str, str]]]] = {"default": [("accountflow", {})]}
    compiled["on"] = [("accountflow", {"ACCOUNTFLOW_COMPILED_READS": "1"})]
    compiled["off"] = [("accountflow-uncompiled", {"ACCOUNTFLOW_COMPILED_READS": "0"})]
    compiled["both"] = compiled["on"] + compiled["off"]
    specs: list[servers.Spec] = []
    if args.gc:
        for spec in args.gc:
            name, gc_env = f"gc {spec}", {**compiled[args.compiled][0][1], "PEERS_GC": spec}
            target = "bench.gc_probe:app_from_env"
            specs.append(
                servers.accountflow(
                    name, port + len(specs), url, workers=1, env=gc_env, target=target
                )
            )
        return specs
    for name, env in compiled[args.compiled]:
        specs.append(servers.accountflow(name, port + len(specs), url, workers=1, env=env))
    if args.baseline:
        name, env = compiled[args.compiled][0]
        spec = servers.accountflow(f"{name}-baseline", port + len(specs), url, workers=1, env=env)
        specs.append(dataclasses.replace(spec, cwd=args.baseline.resolve()))
    specs.append(servers.postgraphile(port + len(specs), url))
    specs.append(servers.bare(port + len(specs), url))
    if args.workers2:
        name, env = compiled[args.compiled][0]
        specs.append(servers.accountflow(f"{name}-2w", port + len(specs), url, workers=2, env=env))
    return specs


def run_wrk(port: int, script: Path, seconds: int, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    command += ["--latency", "-s", str(script), f"http://127.0.0.1:{port}/graphql"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def measure(
    spec: servers.Spec, pid: int, script: Path, args: argparse.Namespace, pg_pid: int | None
) -> dict[str, Any]:
    """One wrk run, with the CPU the server's processes (and PostgreSQL's) spent meanwhile."""
    load = os.getloadavg()[0]
    probe = spec.name.startswith("gc ")
    if probe:
        gc_stats(spec.port)  # counts from here
    cpu, pg = servers.tree_cpu(pid), servers.tree_cpu(pg_pid) if pg_pid else 0.0
    figures = run_wrk(spec.port, script, args.seconds, args.connections)
    cpu, pg = servers.tree_cpu(pid) - cpu, (servers.tree_cpu(pg_pid) - pg) if pg_pid else 0.0
    requests = max(figures["requests"], 1)
    if probe:
        stats = gc_stats(spec.port)
        figures["gc_share"] = round(stats["gc_seconds"] / cpu, 3) if cpu else None
        figures["gc_ms"] = round(stats["gc_seconds"] * 1000 / requests, 2)
        by_generation = stats["seconds_by_generation"]
        figures["gc_ms_by_generation"] = [round(t * 1000 / requests, 2) for t in by_generation]
        per_request = [round(n / requests, 3) for n in stats["collections"]]
        figures["longest_gc_ms"] = [round(t * 1000, 1) for t in stats["longest_seconds"]]
        figures["collections_per_request"] = per_request
    figures["server_cpu_ms"] = round(cpu * 1000 / requests, 2)
    if pg_pid:
        figures["postgres_cpu_ms"] = round(pg * 1000 / requests, 2)
    figures["load"] = round(load, 2)
    figures["rss_mb"] = servers.tree_rss_mb(pid)
    return figures


def gc_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/gcstats", timeout=30) as response:
        stats: dict[str, Any] = orjson.loads(response.read())
    return stats


def check_answers(specs: list[servers.Spec], token: str, first: int) -> None:
    """Every server returns the same accounts and contacts before anything is measured."""
    digests = {}
    for spec in specs:
        query = PEER_LIST if spec.name == "postgraphile" else ACCOUNT_LIST
        digests[spec.name] = digest(post(spec.port, body(query, first), token))
    reference = digests[specs[0].name]
    if len(reference[2]) != first:
        raise RuntimeError(f"{specs[0].name} answered {len(reference[2])} accounts, not {first}")
    for name, found in digests.items():
        if found != reference:
            raise RuntimeError(f"{name} disagrees with {specs[0].name}: {str(found)[:300]}")


def summarise(rounds: list[dict[str, dict[str, Any]]], names: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name in names:
        runs = [r[name] for r in rounds]
        keys: tuple[str, ...] = (
            "requests_per_s",
            "p50_ms",
            "p99_ms",
            "server_cpu_ms",
            "postgres_cpu_ms",
        )
        keys += ("gc_share", "gc_ms")
        summary[name] = {
            key: {"median": statistics.median(v), "min": min(v), "max": max(v)}
            for key in keys
            if (v := [run[key] for run in runs if key in run])
        }
    for name in names:
        if not name.startswith("accountflow") or name.endswith(("-2w", "-baseline")):
            continue
        for other in ("postgraphile", "bare"):
            summary[f"{name}/{other}"] = _ratio(rounds, name, other)
        if f"{name}-2w" in names:  # the target: two workers at least 1.8x one
            summary[f"{name}-2w/{name}"] = _ratio(rounds, f"{name}-2w", name)
        if f"{name}-baseline" in names:
            summary[f"{name}/{name}-baseline"] = _ratio(rounds, name, f"{name}-baseline")
    return summary


def _ratio(rounds: list[dict[str, dict[str, Any]]], top: str, bottom: str) -> dict[str, float]:
    """Requests/s of one server over another's, round by round (measured back to back)."""
    ratios = [r[top]["requests_per_s"] / r[bottom]["requests_per_s"] for r in rounds]
    return {
        "median": round(statistics.median(ratios), 3),
        "min": round(min(ratios), 3),
        "max": round(max(ratios), 3),
    }


def table(figures: dict[str, dict[str, Any]]) -> str:
    lines = ["| server | req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL ms/req | load |"]
    lines.append("|---|---|---|---|---|---|---|")
    if any("gc_share" in f for f in figures.values()):
        lines = [
            lines[0] + " GC share | GC ms/req (gen 0, 1, 2) | collections/req | longest ms |"
            " RSS MiB |"
        ]
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, f in figures.items():
        cells = [f["requests_per_s"], f["p50_ms"], f["p99_ms"], f["server_cpu_ms"]]
        cells += [f.get("postgres_cpu_ms", "-"), f["load"]]
        if "gc_share" in f:
            cells += [f["gc_share"], f"{f['gc_ms']} {f['gc_ms_by_generation']}"]
            cells += [f["collections_per_request"], f["longest_gc_ms"], f["rss_mb"]]
        lines.append(f"| {name} | " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def summary_table(summary: dict[str, Any], names: list[str]) -> str:
    """Medians over the rounds, the range in brackets; then the ratios of requests/s."""
    keys: tuple[str, ...] = (
        "requests_per_s",
        "p50_ms",
        "p99_ms",
        "server_cpu_ms",
        "postgres_cpu_ms",
    )
    lines = ["| server | req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL ms/req |"]
    lines.append("|---|---|---|---|---|---|")
    if any("gc_share" in summary[name] for name in names):
        keys += ("gc_share", "gc_ms")
        lines = [lines[0] + " GC share | GC ms/req |", "|---|---|---|---|---|---|---|---|"]
    for name in names:
        cells = [_spread(summary[name].get(key)) for key in keys]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for label, ratio in summary.items():
        if "/" in label:
            lines.append(f"\n{label}: {_spread(ratio)}")
    return "\n".join(lines)


def _spread(figure: dict[str, float] | None) -> str:
    if figure is None:
        return "-"
    return f"{figure['median']:g} ({figure['min']:g}-{figure['max']:g})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--port", type=int, default=8770, help="first port; one per server")
    parser.add_argument(
        "--compiled",
        choices=("default", "on", "off", "both"),
        default="default",
        help="accountflow's ACCOUNTFLOW_COMPILED_READS: as configured, 1, 0, or both ways",
    )
    parser.add_argument("--workers2", action="store_true", help="add accountflow, 2 workers")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="add accountflow as served from another checkout (e.g. /work/main), 1 worker",
    )
    parser.add_argument(
        "--gc",
        nargs="+",
        metavar="G0,G1,G2",
        help="instead: accountflow once per GC threshold ('current' = app.web.app's), timed",
    )
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    args = parser.parse_args(argv)
    servers.ensure_wrk()
    version = servers.ensure_postgraphile()
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("ACCOUNTFLOW_DATA_DIR", str(DEFAULT_DATA_DIR))
    url = database_url()
    token = asyncio.run(prepare(url, args.accounts, args.contacts))
    specs = variants(args, url, args.port)
    result: dict[str, Any] = {"postgraphile_version": version, "first": args.first}
    result |= {"connections": args.connections, "seconds": args.seconds, "client": "wrk -t1"}
    result["load_before"] = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, servers.running(specs, Path(tmp)) as processes:
        check_answers(specs, token, args.first)
        scripts = {}
        for spec in specs:
            query = PEER_LIST if spec.name == "postgraphile" else ACCOUNT_LIST
            scripts[spec.name] = Path(tmp) / f"{spec.name}.lua"
            scripts[spec.name].write_text(wrk_script(body(query, args.first), token))
            run_wrk(spec.port, scripts[spec.name], args.warmup, args.connections)
        pg_pid = servers.postmaster_pid(url)
        rounds = []
        for number in range(1, args.rounds + 1):
            figures = {}
            for spec in specs:
                pid = processes[spec.name].pid
                figures[spec.name] = measure(spec, pid, scripts[spec.name], args, pg_pid)
            rounds.append(figures)
            print(f"round {number}\n{table(figures)}\n", flush=True)
    result["rounds"] = rounds
    names = [spec.name for spec in specs]
    result |= summarise(rounds, names)
    print(f"median of {args.rounds} rounds (min-max)\n{summary_table(result, names)}\n")
    result["load_after"] = os.getloadavg()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
