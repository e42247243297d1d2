"""Where PostgreSQL spends the bulk merge's CPU: merge_staged.sql in parts, rolled back.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-profile .venv/bin/python -m bench.ingest_profile \
        [--rows 50000] [--preload 100000] [--rounds 3] [--explain plan.txt]

bench/ingest.py's data (20,000 accounts with 2 assignments each, its events); the first
`--preload` unique events are merged and committed, so the assignments have contacts as
in the middle of a run. Then, per round, `--rows` further events are COPYed into the
staging table and each variant of the merge runs in its own transaction, rolled back. The
backend's CPU (its /proc stat, same machine) is read around the statement alone; the
figure is the mean over the rounds (the clock ticks in 10 ms), in µs per staged row.
Variants: the whole merge; the merge with one part left out (the outbox CTE, the cadence
CTEs); the outbox rows' feed position computed once; and the whole merge with
one trigger or foreign key left out in the rolled-back transaction. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson

from app.__main__ import migrate
from app.kit.sql import read_sql
from bench.ingest import database_url, make_events, raw_connection, reset, seed_accounts

STAGED = (
    "item",
    "account_id",
    "kind",
    "occurred_at",
    "user_id",
    "contact_id",
    "amount",
    "summary",
    "source",
    "external_id",
    "logged_by_id",
)
# Left out one at a time, in the rolled-back transaction: a trigger is disabled, a foreign
# key (its per-row check) dropped.
TRIGGERS = {
    "assignments": ("assignments_cadence", "assignments_cadence_announced"),
    "activities": (
        "planning_revenue_years_insert",
        "fk_activities_account_id_accounts",
        "fk_activities_user_id_users",
        "fk_activities_logged_by_id_users",
    ),
    "outbox": ("outbox_fan_out",),
}


def merge_sql() -> str:
    return read_sql("app.activities", "merge_staged.sql")


def without_cte(sql: str, *names: str) -> str:
    """The merge with the named CTEs (and the comment lines above each) left out."""
    for name in names:
        pattern = rf"(?:--[^\n]*\n)*{name} AS (?:MATERIALIZED )?\(\n.*?\n\),?\n"
        sql, found = re.subn(pattern, "", sql, count=1, flags=re.DOTALL)
        if not found:
            raise ValueError(f"no CTE {name}")
    return re.sub(r",\n(SELECT [^\n]*\n?)$", r"\n\1", sql.rstrip() + "\n")


POSITION = (
    "(SELECT greatest(pg_current_xact_id()::text::bigint + 1, "
    "pg_snapshot_xmax(pg_current_snapshot())::text::bigint))"
)


def position_once(sql: str) -> str:
    """The outbox rows' feed position computed once for the statement, not per row."""
    head = "INSERT INTO outbox (type, object_key, account_id, data)"
    tail = "'externalId', external_id)\n    FROM new_activities ORDER BY id"
    assert head in sql
    assert tail in sql
    sql = sql.replace(head, head[:-1] + ", feed_position)")
    return sql.replace(tail, tail.replace(")\n", f"), {POSITION}\n", 1))


def variants() -> dict[str, tuple[str, tuple[str, str] | None]]:
    sql = merge_sql()
    cadence = [n for n in ("contact_hits", "contact_locks", "contacts_applied") if n in sql]
    found: dict[str, tuple[str, tuple[str, str] | None]] = {
        "whole merge": (sql, None),
        "without the outbox CTE": (without_cte(sql, "activity_events"), None),
        "without the cadence CTEs": (without_cte(sql, *cadence), None),
        "insert only": (without_cte(sql, "activity_events", *cadence), None),
        "whole merge, feed position once": (position_once(sql), None),
        "whole merge, contact hits by any join": (sql.replace("        OFFSET 0\n", ""), None),
    }
    for table, names in TRIGGERS.items():
        for name in names:
            found[f"whole merge, {name} off"] = (sql, (table, name))
    return found


async def resolve(connection: asyncpg.Connection, events: list[dict[str, Any]]) -> list[tuple]:  # type: ignore[type-arg]
    refs = dict(await connection.fetch("SELECT external_ref, id FROM accounts"))
    users = dict(await connection.fetch("SELECT email, id FROM users"))
    caller = users["erp@bench.io"]
    return [
        (
            n,
            refs[e["accountExternalRef"]],
            e["kind"],
            datetime.fromisoformat(e["occurredAt"]),
            users.get(e.get("userEmail")),
            None,
            None if "amount" not in e else Decimal(e["amount"]),
            e.get("summary"),
            e["source"],
            e["externalId"],
            caller,
        )
        for n, e in enumerate(events)
    ]


def backend_cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stage(connection: asyncpg.Connection, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    await connection.execute("SET LOCAL work_mem = '64MB'")
    await connection.execute(read_sql("app.activities", "create_staging.sql"))
    await connection.copy_records_to_table("activity_staging", records=rows, columns=STAGED)


async def timed(
    connection: asyncpg.Connection,
    rows: list[tuple],  # type: ignore[type-arg]
    sql: str,
    trigger: tuple[str, str] | None,
) -> float:
    """Backend CPU seconds of the statement alone, in a transaction rolled back."""
    pid = await connection.fetchval("SELECT pg_backend_pid()")
    transaction = connection.transaction()
    await transaction.start()
    try:
        await stage(connection, rows)
        if trigger is not None:
            table, name = trigger
            off = f"DROP CONSTRAINT {name}" if name.startswith("fk_") else f"DISABLE TRIGGER {name}"
            await connection.execute(f"ALTER TABLE {table} {off}")
        before = backend_cpu_s(pid)
        await connection.fetch(sql)
        return backend_cpu_s(pid) - before
    finally:
        await transaction.rollback()


async def preload(connection: asyncpg.Connection, rows: list[tuple]) -> None:  # type: ignore[type-arg]
    async with connection.transaction():
        await stage(connection, rows)
        await connection.fetch(merge_sql())
    await connection.execute("VACUUM ANALYZE assignments")
    await connection.execute("VACUUM ANALYZE activities")


async def explain(connection: asyncpg.Connection, rows: list[tuple]) -> str:  # type: ignore[type-arg]
    transaction = connection.transaction()
    await transaction.start()
    try:
        await stage(connection, rows)
        plan = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS, VERBOSE) " + merge_sql())
        return "\n".join(r[0] for r in plan)
    finally:
        await transaction.rollback()


async def profile(url: str, args: argparse.Namespace) -> dict[str, Any]:
    _, unique = make_events(
        total=args.preload + args.rows, repeat_share=0, accounts=20_000, reps=50,
        prefix="ING", seed=args.seed,
    )  # fmt: skip
    connection = await raw_connection(url)
    try:
        rows = await resolve(connection, unique)
        await preload(connection, rows[: args.preload])
        measured = rows[args.preload :]
        cpu: dict[str, list[float]] = {name: [] for name in variants()}
        for _ in range(args.rounds):
            for name, (sql, trigger) in variants().items():
                cpu[name].append(await timed(connection, measured, sql, trigger))
        plan = await explain(connection, measured) if args.explain else ""
    finally:
        await connection.close()
    per_row = {k: round(statistics.fmean(v) / len(measured) * 1e6, 2) for k, v in cpu.items()}
    return {"staged_rows": len(measured), "us_per_row": per_row, "plan": plan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--preload", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--explain", help="write EXPLAIN (ANALYZE, BUFFERS) of the merge here")
    args = parser.parse_args()
    url = database_url()
    migrate(url)
    asyncio.run(seed_accounts(url, accounts=20_000, reps=50, prefix="ING"))
    asyncio.run(reset(url))
    result = asyncio.run(profile(url, args))
    plan = result.pop("plan")
    if args.explain:
        with open(args.explain, "w") as out:
            out.write(plan)
    result["preloaded"] = args.preload
    result["load_average"] = os.getloadavg()
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
