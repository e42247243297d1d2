"""Issue 9: AccountSearch at 100,000 accounts (search, filter, each order, first and last page,
one client) and upsertAccounts at 1,000 items per call.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-records .venv/bin/python -m bench.records [--runs 21]

The data: bench.generate's accounts and contacts, plus (set-based) a SALES assignment on
every second account, a default-pipeline entry on each, three invoices on every third one
over the last two years and a tag on every tenth. One uvicorn worker serves; requests are
sent one at a time (one client). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]
from sqlalchemy import func, select, text

from app import db
from app.accounts import read as account_read
from app.accounts.service import ACCOUNT_COLUMNS
from app.auth import service as auth
from app.kit.actor import SYSTEM
from app.kit.pagination import sorted_page, window
from app.models.accounts import Account
from app.models.auth import Role
from bench.accounts_list import post, serve
from bench.generate import database_url, generate_accounts, vacuum_analyze

CONTRACT = Path(__file__).resolve().parents[1] / "tests" / "contract" / "records.graphql"
TABLES = ("accounts", "contacts", "assignments", "pipeline_entries", "activities")
PG_DIR = Path(os.environ.get("ACCOUNTFLOW_DATA_DIR", ".accountflow")) / "pg"
ORDERS = [None, "NAME", "CREATED_AT", "UPDATED_AT", "NEXT_CONTACT_DUE", "REVENUE_LAST_12_MONTHS"]

_EXTRAS = [
    """
    INSERT INTO assignments (account_id, user_id, manager_type, contact_frequency_days,
                             started_at, last_contact_at, contact_days)
    SELECT a.id, (CAST(:reps AS bigint[]))[1 + a.id % 20], 'SALES', 30,
           now() - interval '400 days', now() - (a.id % 60) * interval '1 day', '{}'
    FROM accounts a WHERE a.id % 2 = 0
    """,
    """
    INSERT INTO pipeline_entries (account_id, pipeline_id, stage, owner_id, entered_at)
    SELECT a.id, p.id, 'PROSPECT', NULL, now() - (a.id % 90) * interval '1 day'
    FROM accounts a CROSS JOIN pipelines p WHERE p.is_default
    ON CONFLICT DO NOTHING
    """,
    """
    INSERT INTO activities (account_id, kind, occurred_at, amount)
    SELECT a.id, 'INVOICE', now() - (1 + floor(random() * 700)) * interval '1 day',
           round((random() * 5000)::numeric, 2)
    FROM accounts a CROSS JOIN generate_series(1, 3) WHERE a.id % 3 = 0
    """,
    "UPDATE accounts SET tags = '{vip}' WHERE id % 10 = 0",
]


def _operation(name: str) -> str:
    text_ = CONTRACT.read_text()
    start = (
        text_.index(f"query {name}")
        if f"query {name}" in text_
        else text_.index(f"mutation {name}")
    )
    end = text_.find("\nquery ", start + 1)
    end2 = text_.find("\nmutation ", start + 1)
    ends = [e for e in (end, end2) if e != -1]
    return text_[start : min(ends)] if ends else text_[start:]


async def prepare(url: str, accounts: int, contacts: int) -> tuple[str, str]:
    engine = db.create_engine(url)
    try:
        maker = db.create_sessionmaker(engine)
        async with db.session_scope(maker) as session:
            empty = not await session.scalar(select(func.count()).select_from(Account))
        if empty:
            reps = []
            async with db.session_scope(maker) as session:
                for n in range(20):
                    user = await auth.create_user(
                        session,
                        actor=SYSTEM,
                        email=f"rep{n}@bench.io",
                        name=f"Rep {n}",
                        role=Role.REP,
                    )
                    reps.append(user.id)
            async with db.session_scope(maker) as session:
                await generate_accounts(session, accounts=accounts, contacts=contacts)
                for sql in _EXTRAS:
                    params = {"reps": reps} if ":reps" in sql else {}
                    await session.execute(text(sql), params)
            await vacuum_analyze(engine, TABLES)
        async with db.session_scope(maker) as session:
            admin = await auth.ensure_user_token(
                session, actor=SYSTEM, email="bench@accountflow.io", role=Role.ADMIN, name="Bench"
            )
            erp = await auth.ensure_user_token(
                session,
                actor=SYSTEM,
                email="erp@accountflow.io",
                role=Role.INTEGRATION,
                name="ERP",
            )
        return admin, erp
    finally:
        await engine.dispose()


class Cpu:
    """CPU seconds used by the server process and the PostgreSQL backends (psutil)."""

    def __init__(self, server_pid: int, pg_dir: Path) -> None:
        self.server = psutil.Process(server_pid)
        postmaster = int((pg_dir / "postmaster.pid").read_text().split()[0])
        self.postgres = psutil.Process(postmaster).children()

    def read(self) -> tuple[float, float]:
        def used(p: psutil.Process) -> float:
            try:
                t = p.cpu_times()
                return float(t.user + t.system)
            except psutil.Error:
                return 0.0

        return used(self.server), sum(used(p) for p in self.postgres)


def _timed(port: int, body: bytes, token: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    answer = post(port, body, token)
    return (time.perf_counter() - started) * 1000, answer


def baseline(port: int, token: str, args: argparse.Namespace) -> float:
    """p50 of the smallest authenticated query: what the machine's load adds to any request."""
    body = orjson.dumps({"query": "{ viewer { id } }"})
    return round(statistics.median(_timed(port, body, token)[0] for _ in range(args.runs)), 1)


def search(port: int, token: str, args: argparse.Namespace) -> dict[str, Any]:
    query = _operation("AccountSearch")
    results: dict[str, Any] = {}
    for order in ORDERS:
        for page in ("first", "last"):
            variables: dict[str, Any] = {
                page: 50,
                "filter": {"search": args.term, "countryCode": args.country},
            }
            if order is not None:
                variables["orderBy"] = {"field": order, "direction": "ASC"}
            body = orjson.dumps({"query": query, "variables": variables})
            times = []
            for _ in range(args.runs):
                ms, answer = _timed(port, body, token)
                if "errors" in answer:
                    raise RuntimeError(answer["errors"])
                times.append(ms)
            data = answer["data"]["accounts"]
            results[f"{order or 'RELEVANCE'} {page}"] = {
                "p50_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
                "rows": len(data["edges"]),
                "total": data["totalCount"],
            }
    return results


def upsert(port: int, token: str, args: argparse.Namespace, cpu: Cpu) -> dict[str, Any]:
    query = _operation("UpsertAccounts")
    run = int(time.time())
    phases: dict[str, Any] = {}
    for phase in ("create", "update", "unchanged"):
        times: list[float] = []
        server_cpu: list[float] = []
        postgres_cpu: list[float] = []
        for call in range(args.upsert_calls):
            items = [
                {
                    "externalRef": f"up-{run}-{call}-{n}",
                    "name": f"Upserted {call}-{n}" + (" v2" if phase != "create" else ""),
                    "industry": "Agriculture",
                    "website": f"https://up{call}-{n}.example.com",
                    "address": {"city": "Ulm", "countryCode": "DE"},
                    "tags": ["erp"],
                    **({"parentExternalRef": f"up-{run}-{call}-0"} if n % 10 else {}),
                }
                for n in range(1000)
            ]
            body = orjson.dumps({"query": query, "variables": {"input": {"accounts": items}}})
            before = cpu.read()
            ms, answer = _timed(port, body, token)
            after = cpu.read()
            server_cpu.append(after[0] - before[0])
            postgres_cpu.append(after[1] - before[1])
            result = answer["data"]["upsertAccounts"]
            if result["rejected"]:
                raise RuntimeError(result["rejected"][:3])
            times.append(ms)
        phases[phase] = {
            "calls": len(times),
            "p50_ms": round(statistics.median(times), 1),
            "accounts_per_s": round(1000 * len(times) / (sum(times) / 1000)),
            # CPU per call of 1,000: what an idle machine's cores would have to give.
            "server_cpu_ms": round(1000 * statistics.median(server_cpu), 1),
            "postgres_cpu_ms": round(1000 * statistics.median(postgres_cpu), 1),
            "last": {k: result[k] for k in ("createdCount", "updatedCount", "unchangedCount")},
        }
    return phases


async def sql_only(url: str, args: argparse.Namespace) -> dict[str, float]:
    """The page statement alone (with its totalCount), in-process: the database's share."""
    engine = db.create_engine(url)
    found: dict[str, float] = {}
    try:
        async with db.create_sessionmaker(engine)() as session:
            filter = account_read.AccountFilter(search=args.term, country_code=args.country)
            now = datetime.now(UTC)
            query = account_read.accounts_query(filter, now=now, columns=ACCOUNT_COLUMNS)
            for name in ORDERS:
                field = None if name is None else account_read.OrderField(name)
                order = account_read.account_order(field, False, search=args.term)
                for backward in (False, True):
                    pages = window(None, None, 50, None, default=50, maximum=100)
                    if not backward:
                        pages = window(50, None, None, None, default=50, maximum=100)
                    times = []
                    for _ in range(args.runs):
                        started = time.perf_counter()
                        await sorted_page(
                            session, query, order=order, window=pages, with_total=True
                        )
                        times.append((time.perf_counter() - started) * 1000)
                    key = f"{name or 'RELEVANCE'} {'last' if backward else 'first'}"
                    found[key] = round(statistics.median(times), 1)
    finally:
        await engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--term", default="keller farms")
    parser.add_argument("--country", default="DE")
    parser.add_argument("--upsert-calls", type=int, default=10)
    parser.add_argument("--port", type=int, default=18090)
    args = parser.parse_args()
    url = database_url()
    admin, erp = asyncio.run(prepare(url, args.accounts, args.contacts))
    load = os.getloadavg()[0]
    with serve("app.web.app:app_from_env", args.port, url) as server:
        figures: dict[str, Any] = {
            "baseline_viewer_p50_ms": baseline(args.port, admin, args),
            "search": search(args.port, admin, args),
            "upsert": upsert(args.port, erp, args, Cpu(server.pid, PG_DIR)),
        }
    figures["search_sql_only_p50_ms"] = asyncio.run(sql_only(url, args))
    figures["load_avg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    figures["term"], figures["country"] = args.term, args.country
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
