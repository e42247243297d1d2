"""AccountList with `first: 100` at 16 concurrent clients: the GraphQL endpoint beside the floor.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-accounts-list .venv/bin/python -m bench.accounts_list

Each endpoint runs as one uvicorn worker on 127.0.0.1 (a subprocess with DATABASE_URL set);
the load comes from `wrk` (apt-get install wrk), one thread, in its own process. An empty
database is filled by bench.generate first. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import func, select

from app import db
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.accounts import Account
from app.models.auth import Role
from bench import NO_BUDGET
from bench.generate import database_url, generate_accounts, vacuum_analyze

# Copied verbatim from contract/accounts.graphql.
ACCOUNT_LIST = """\
query AccountList($first: Int, $after: String, $filter: AccountFilter) {
  accounts(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id
        name
        classification
        industry
        address { city region countryCode }
        assignments {
          id
          managerType
          contactFrequencyDays
          status
          nextContactDue
          user { id name }
        }
        contacts { id name buyingRole }
        pipelineEntry(pipeline: "default") { stage enteredAt secondsInStage owner { id name } }
      }
    }
  }
}
"""

SERVERS = {"graphql": "app.web.app:app_from_env", "bare": "bench.bare:app_from_env"}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


async def prepare(url: str, accounts: int, contacts: int) -> str:
    """Data (generated when the database has no accounts) and an admin token."""
    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            empty = not await session.scalar(select(func.count()).select_from(Account))
            if empty:
                await generate_accounts(session, accounts=accounts, contacts=contacts)
        if empty:
            await vacuum_analyze(engine)
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await auth.ensure_user_token(
                session, actor=SYSTEM, email="bench@accountflow.io", role=Role.ADMIN, name="Bench"
            )
    finally:
        await engine.dispose()


def post(port: int, body: bytes, token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        result: dict[str, Any] = orjson.loads(response.read())
    return result


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} not ready after {timeout}s")


@contextmanager
def serve(target: str, port: int, url: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "uvicorn", target, "--factory", "--workers", "1"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    command += ["--log-level", "warning"]
    env = {**NO_BUDGET, **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, env=env)
    try:
        _wait_ready(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def wrk_script(body: bytes, token: str) -> str:
    lua_body = body.decode().replace("\\", "\\\\").replace('"', '\\"')
    return (
        'wrk.method = "POST"\n'
        f'wrk.body = "{lua_body}"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return round(float(number) * UNITS[unit], 2)


def parse_wrk(output: str) -> dict[str, Any]:
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if rps is None or total is None or "50" not in latency or "99" not in latency:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    return {
        "requests_per_s": float(rps.group(1)),
        "p50_ms": _millis(latency["50"]),
        "p99_ms": _millis(latency["99"]),
        "requests": int(total.group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def wrk(port: int, script: Path, *, seconds: int, connections: int) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    command += ["-s", str(script)]
    command.append(f"http://127.0.0.1:{port}/graphql")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return parse_wrk(done.stdout)


def measure(
    name: str, port: int, url: str, body: bytes, token: str, args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one endpoint: check its answer, warm it up, then measure; returns (figures, data)."""
    with serve(SERVERS[name], port, url) as server, tempfile.TemporaryDirectory() as tmp:
        answer = post(port, body, token)
        if "errors" in answer or len(answer["data"]["accounts"]["edges"]) != args.first:
            raise RuntimeError(f"{name} answered wrongly: {str(answer)[:500]}")
        script = Path(tmp) / "post.lua"
        script.write_text(wrk_script(body, token))
        wrk(port, script, seconds=args.warmup, connections=args.connections)
        with profiling(server.pid, args.py_spy and f"{args.py_spy}-{name}.svg", args.seconds):
            figures = wrk(port, script, seconds=args.seconds, connections=args.connections)
    return figures, answer["data"]  # `extensions` (the cost) is the app's alone


@contextmanager
def profiling(pid: int, output: str | None, seconds: int) -> Iterator[None]:
    """A py-spy flame graph of the server while it is measured (py-spy on PATH)."""
    if not output:
        yield
        return
    command = ["py-spy", "record", "--pid", str(pid), "--duration", str(seconds)]
    spy = subprocess.Popen([*command, "--rate", "200", "--nonblocking", "--output", output])
    try:
        yield
    finally:
        spy.wait(timeout=seconds + 30)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="AccountList: GraphQL endpoint vs bare floor.")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--first", type=int, default=100)
    parser.add_argument("--port", type=int, default=8760, help="GraphQL; the bare one is +1")
    parser.add_argument("--only", choices=sorted(SERVERS), help="measure one endpoint")
    parser.add_argument("--py-spy", metavar="PREFIX", help="flame graphs to PREFIX-<name>.svg")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get update && apt-get install -y wrk")
    url = database_url()
    token = asyncio.run(prepare(url, args.accounts, args.contacts))
    body = orjson.dumps(
        {
            "query": ACCOUNT_LIST,
            "operationName": "AccountList",
            "variables": {"first": args.first},
        }
    )
    result: dict[str, Any] = {"load_before": os.getloadavg(), "first": args.first}
    result |= {"connections": args.connections, "seconds": args.seconds, "client": "wrk -t1"}
    answers = {}
    for offset, name in enumerate(sorted(SERVERS, reverse=True)):
        if args.only in (None, name):
            result[name], answers[name] = measure(name, args.port + offset, url, body, token, args)
    if len(answers) == 2:
        result["same_data"] = answers["graphql"] == answers["bare"]
        ratio = result["graphql"]["requests_per_s"] / result["bare"]["requests_per_s"]
        result["ratio"] = round(ratio, 3)
    result["load_after"] = os.getloadavg()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
