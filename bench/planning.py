"""Planning reports at scale, over HTTP.

100,000 accounts (three levels of branches), 5,000,000 revenue activities over four years
and 20,000 active plans, made by set-based SQL; then churnEstimate, forecast per grouping and
the first page of classificationSuggestions are timed against a uvicorn subprocess.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-planning .venv/bin/python -m bench.planning
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from graphql import OperationDefinitionNode, parse, print_ast

from app import db
from app.__main__ import ROOT, migrate
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.planning import revenue_sql
from app.settings import Settings
from bench import NO_BUDGET

CONTRACT = ROOT / "tests" / "contract" / "planning.graphql"

DATA = [
    "INSERT INTO users (email, name, role) SELECT 'owner' || g || '@bench.example', "
    "'Owner ' || g, 'REP' FROM generate_series(1, {users}) g",
    # Top-level companies first, then branches of them, then branches of branches.
    "INSERT INTO accounts (id, name, classification, parent_id) "
    "SELECT g, 'Account ' || g, (ARRAY['A','B','C','D',NULL])[1 + g % 5], "
    "CASE WHEN g <= {top} THEN NULL WHEN g <= {mid} THEN 1 + (g::bigint * 7919) % {top} "
    "ELSE {top} + 1 + (g::bigint * 104729) % ({mid} - {top}) END "
    "FROM generate_series(1, {accounts}) g",
    "SELECT setval(pg_get_serial_sequence('accounts', 'id'), {accounts})",
    # Skewed towards low ids so that a few accounts hold most revenue, as in life.
    "INSERT INTO activities (account_id, kind, occurred_at, amount) "
    "SELECT 1 + floor({accounts} * power(random(), 2))::int, "
    "(ARRAY['INVOICE','PARTS_PURCHASE','SERVICE_ORDER'])[1 + floor(random() * 3)::int], "
    "now() - random() * interval '4 years', round((10 + random() * 4990)::numeric, 2) "
    "FROM generate_series(1, {chunk}) g",
    "INSERT INTO account_plans (account_id, owner_id, status, period_start, period_end, "
    "growth_target_pct, planned_net_new, price_change_pct, churn_rate, review_frequency_days, "
    "next_review_at, renewal_date) "
    "SELECT g * {plan_step}, u.first + g % {users}, 'ACTIVE', date_trunc('year', now())::date, "
    "(date_trunc('year', now()) + interval '1 year - 1 day')::date, "
    "round((random() * 30)::numeric, 2), round((random() * 10000)::numeric, 2), "
    "round((random() * 5)::numeric, 2), CASE WHEN g % 2 = 0 THEN 0.1 END, 90, "
    "now() + (g % 120) * interval '1 day', current_date + (g % 365) "
    "FROM generate_series(1, {plans}) g, "
    "(SELECT min(id) AS first FROM users WHERE email LIKE 'owner%') u",
    # The load runs with triggers off, so the yearly revenue sums are built once here.
    "INSERT INTO account_revenue_years (account_id, year, revenue) "
    "SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount) "
    "FROM activities WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') "
    "AND amount IS NOT NULL GROUP BY 1, 2",
    *revenue_sql.REBUILD,  # and so are the churn years kept with them (migration 0012)
]

SIZES = {
    "accounts": 100_000,
    "top": 60_000,
    "mid": 85_000,
    "activities": 5_000_000,
    "plans": 20_000,
    "users": 50,
}


FORECAST_PAGE = """query($groupBy: ForecastGrouping!, $periodStart: Date!, $first: Int) {
  forecast(groupBy: $groupBy, periodStart: $periodStart, first: $first) {
    key label accounts baselineRevenue forecastRevenue targetRevenue gap cursor } }"""


def operations() -> dict[str, str]:
    found = {}
    for definition in parse(CONTRACT.read_text()).definitions:
        assert isinstance(definition, OperationDefinitionNode)
        assert definition.name is not None
        found[definition.name.value] = print_ast(definition)
    return found


def asyncpg_dsn(url: str) -> dict[str, str]:
    rest, host = url.split("?host=")
    database = rest.split("@/")[1]
    return {"host": host, "user": "postgres", "database": database}


async def generate(url: str, sizes: dict[str, int]) -> None:
    conn = await asyncpg.connect(**asyncpg_dsn(url))
    try:
        if await conn.fetchval("SELECT count(*) FROM accounts") >= sizes["accounts"]:
            return
        chunk = min(500_000, sizes["activities"])
        params = {**sizes, "plan_step": sizes["accounts"] // sizes["plans"], "chunk": chunk}
        started = time.perf_counter()
        async with conn.transaction():
            # A bulk load: build the activities' indexes once at the end, not row by row.
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename = 'activities' "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["indexname"]}"')
            await conn.execute("ALTER TABLE activities DISABLE TRIGGER ALL")
            for statement in DATA:
                bulk = statement.startswith("INSERT INTO activities")
                repeat = sizes["activities"] // chunk if bulk else 1
                for _ in range(repeat):
                    await conn.execute(statement.format(**params))
                elapsed = time.perf_counter() - started
                print(f"# {elapsed:7.1f}s {statement[:50]}", file=sys.stderr)
            await conn.execute("ALTER TABLE activities ENABLE TRIGGER ALL")
            for index in indexes:
                await conn.execute(index["indexdef"])
        print(f"# {time.perf_counter() - started:7.1f}s indexes built", file=sys.stderr)
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def admin_token(url: str) -> str:
    engine = db.create_engine(url, pool_size=1)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await auth.ensure_user_token(
                session, actor=SYSTEM, email="bench@accountflow.io", role=Role.ADMIN
            )
    finally:
        await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "uvicorn", "app.web.app:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    env = {**NO_BUDGET, **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise RuntimeError("server did not become ready")


def measure(
    client: httpx.Client, query: str, variables: dict[str, Any], runs: int
) -> dict[str, float]:
    timings = []
    for i in range(runs + 2):
        started = time.perf_counter()
        response = client.post("/graphql", json={"query": query, "variables": variables})
        elapsed = (time.perf_counter() - started) * 1000
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"{response.status_code}: {body}")
        if i >= 2:  # two warm-up runs
            timings.append(elapsed)
    timings.sort()
    return {
        "median_ms": round(statistics.median(timings), 1),
        "p90_ms": round(timings[int(0.9 * (len(timings) - 1))], 1),
        "min_ms": round(timings[0], 1),
    }


def run(url: str, runs: int) -> dict[str, Any]:
    ops = operations()
    cases: dict[str, tuple[str, dict[str, Any]]] = {
        "churnEstimate(years: 3)": (ops["ChurnEstimate"], {"years": 3}),
        "classificationSuggestions(first: 50)": (ops["ClassificationSuggestions"], {"first": 50}),
    }
    period = time.strftime("%Y-03-01")
    for grouping in ("OWNER", "CLASSIFICATION", "PARENT"):
        variables = {"groupBy": grouping, "periodStart": period}
        cases[f"forecast(groupBy: {grouping})"] = (ops["Forecast"], variables)
    paged = {"groupBy": "PARENT", "periodStart": period, "first": 50}
    cases["forecast(groupBy: PARENT, first: 50)"] = (FORECAST_PAGE, paged)
    token = asyncio.run(admin_token(url))
    port = free_port()
    server = start_server(url, port)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as c:
            return {name: measure(c, q, v, runs) for name, (q, v) in cases.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    args = parser.parse_args()
    settings = Settings.from_env()
    url = db.resolve_database_url(settings)
    migrate(url)
    sizes = {k: max(1, int(v * args.scale)) for k, v in SIZES.items()}
    sizes["users"] = SIZES["users"]
    asyncio.run(generate(url, sizes))
    load = os.getloadavg()
    results = run(url, args.runs)
    print(
        json.dumps(
            {
                "sizes": sizes,
                "runs": args.runs,
                "load_before": load,
                "load_after": os.getloadavg(),
                "results": results,
                "data_dir": str(Path(settings.data_dir)),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
