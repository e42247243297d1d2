"""Overdue and balance pages over HTTP at 100k accounts, 300k assignments, 5M activities.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-overdue .venv/bin/python -m bench.overdue

Data is made once by set-based SQL (generate_series); the assignments' cadence columns are
then filled from the activities in one statement, as a rule change would. Times the
contract's `Assignments` operation, as written, for one rep's OVERDUE page, one rep's
DEFICIT page and the organisation-wide DEFICIT page (first 50 each), served by
`accountflow serve` on 127.0.0.1. With --stale it also times the organisation-wide page
when no stored balance is from today (the read-time fallback). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

import httpx
import orjson

from app.__main__ import migrate
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.models.activities import ActivityKind
from app.models.auth import Role
from bench.ingest import database_url, raw_connection, serve
from tests.support import contract_operations

KINDS = [k.value for k in ActivityKind]

GENERATE = [
    """INSERT INTO users (email, name, role)
       SELECT 'ovr-rep' || g || '@bench.io', 'Rep ' || g, 'REP' FROM generate_series(1, :reps) g""",
    """INSERT INTO accounts (name, classification, external_ref)
       SELECT 'Account ' || g, (ARRAY['A','B','C','D'])[1 + g % 4], 'OVR-' || g
       FROM generate_series(1, :accounts) g""",
    # Each account has SALES, PARTS and SERVICE, each with some rep; started 30-800 days ago.
    """INSERT INTO assignments (account_id, user_id, manager_type, contact_frequency_days,
                                started_at)
       SELECT a.id, r.ids[1 + (a.id * 7 + t.n * 13) % :reps], t.type,
              (ARRAY[7, 14, 30, 60, 90])[1 + (a.id + t.n) % 5],
              now() - make_interval(days => (30 + (a.id * 31 + t.n * 17) % 770)::int)
       FROM accounts a
       CROSS JOIN (VALUES (1, 'SALES'), (2, 'PARTS'), (3, 'SERVICE')) t(n, type)
       CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM users
                   WHERE email LIKE 'ovr-rep%') r
       WHERE a.external_ref LIKE 'OVR-%'""",
    # Skewed: a few accounts get many touches, many get few (deficits and overdue ones).
    """INSERT INTO activities (account_id, kind, occurred_at, user_id)
       SELECT b.first_id + floor(:accounts::int * power(random(), 2.5))::bigint,
              (:kinds::text[])[1 + floor(random() * 13)::int],
              now() - random() * interval '365 days',
              CASE WHEN random() < 0.5 THEN r.ids[1 + floor(random() * :reps::int)::int] END
       FROM generate_series(1, :activities) g,
            (SELECT min(id) AS first_id FROM accounts WHERE external_ref LIKE 'OVR-%') b,
            (SELECT array_agg(id) AS ids FROM users WHERE email LIKE 'ovr-rep%') r""",
    # The default rule (every kind but NOTE, from anyone) is the same for every manager
    # type, so the per-account aggregate is each assignment's cadence.
    """UPDATE assignments a SET last_contact_at = s.last, contact_days = s.days
       FROM (SELECT account_id, max(occurred_at) AS last,
                    array_agg(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date) AS days
             FROM activities WHERE kind <> 'NOTE' GROUP BY account_id) s
       WHERE a.account_id = s.account_id""",
]


async def generate(url: str, *, accounts: int, reps: int, activities: int) -> dict[str, float]:
    connection = await raw_connection(url)
    timings: dict[str, float] = {}
    try:
        if await connection.fetchval("SELECT count(*) FROM accounts WHERE external_ref = 'OVR-1'"):
            return timings
        params = {"reps": reps, "accounts": accounts, "activities": activities, "kinds": KINDS}
        for n, statement in enumerate(GENERATE):
            sql, args = _positional(statement, params)
            started = time.perf_counter()
            await connection.execute(sql, *args)
            timings[f"step_{n}_s"] = round(time.perf_counter() - started, 1)
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return timings


def _positional(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    names = [name for name in params if f":{name}" in sql]
    for n, name in enumerate(names, start=1):
        sql = sql.replace(f":{name}", f"${n}")
    return sql, [params[name] for name in names]


async def busiest_rep(url: str) -> tuple[int, dict[str, int]]:
    connection = await raw_connection(url)
    try:
        row = await connection.fetchrow(
            "SELECT user_id, count(*) AS n FROM assignments GROUP BY user_id "
            "ORDER BY count(*) DESC LIMIT 1"
        )
        sizes = {
            "accounts": await connection.fetchval("SELECT count(*) FROM accounts"),
            "assignments": await connection.fetchval("SELECT count(*) FROM assignments"),
            "activities": await connection.fetchval("SELECT count(*) FROM activities"),
            "rep_assignments": row["n"],
        }
        return int(row["user_id"]), sizes
    finally:
        await connection.close()


async def make_stale(url: str, stale: bool) -> None:
    connection = await raw_connection(url)
    try:
        if stale:
            await connection.execute("SET session_replication_role = replica")
            await connection.execute("UPDATE assignments SET balance_as_of = NULL")
        else:
            await connection.execute("UPDATE assignments SET contact_days = contact_days")
        await connection.execute("VACUUM ANALYZE assignments")
    finally:
        await connection.close()


async def token(url: str) -> str:
    from app import db

    engine = db.create_engine(url)
    try:
        async with db.session_scope(db.create_sessionmaker(engine)) as session:
            return await auth.ensure_user_token(
                session, actor=SYSTEM, email="mgr@bench.io", role=Role.MANAGER, name="Manager"
            )
    finally:
        await engine.dispose()


async def time_pages(
    port: int, bearer: str, pages: dict[str, dict[str, Any]], rounds: int
) -> dict[str, Any]:
    query = contract_operations()["Assignments"]
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"}
    results: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        for name, variables in pages.items():
            body = orjson.dumps({"query": query, "variables": variables})
            samples = []
            data: dict[str, Any] = {}
            for n in range(rounds + 3):
                started = time.perf_counter()
                response = await http.post("/graphql", content=body, headers=headers)
                elapsed = time.perf_counter() - started
                payload = response.json()
                if "errors" in payload:
                    raise RuntimeError(payload["errors"])
                data = payload["data"]["assignments"]
                if n >= 3:  # the first rounds warm the caches
                    samples.append(elapsed * 1000)
            results[name] = {
                "median_ms": round(statistics.median(samples), 1),
                "p90_ms": round(statistics.quantiles(samples, n=10)[-1], 1),
                "total_count": data["totalCount"],
                "page_size": len(data["edges"]),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--stale", action="store_true")
    args = parser.parse_args()
    url = database_url()
    migrate(url)
    made = asyncio.run(
        generate(url, accounts=args.accounts, reps=args.reps, activities=args.activities)
    )
    rep, sizes = asyncio.run(busiest_rep(url))
    bearer = asyncio.run(token(url))
    from schema.relay import to_global_id

    rep_id = to_global_id("User", rep)
    pages = {
        "rep_overdue": {"first": 50, "filter": {"userId": rep_id, "status": ["OVERDUE"]}},
        "rep_deficit": {"first": 50, "filter": {"userId": rep_id, "balance": ["DEFICIT"]}},
        "org_deficit": {"first": 50, "filter": {"balance": ["DEFICIT"]}},
    }
    with serve(url, args.port, 1):
        timings = asyncio.run(time_pages(args.port, bearer, pages, args.rounds))
    if args.stale:
        asyncio.run(make_stale(url, True))
        stale_pages = {"org_deficit_all_stale": pages["org_deficit"]}
        with serve(url, args.port, 1):
            timings |= asyncio.run(time_pages(args.port, bearer, stale_pages, args.rounds))
        asyncio.run(make_stale(url, False))
    result = {"sizes": sizes, "generate": made, "pages": timings, "load_average": os.getloadavg()}
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
