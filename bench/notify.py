"""NOTIFY at scale: commits per second of 32 concurrent writers, with and without NOTIFY.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-notify .venv/bin/python -m bench.notify \
        [--writers 32 --processes 4 --seconds 15 --rounds 2 --path service|sql]

Each writer updates an account of its own, one transaction per update, as fast as it can:
- `--path service` (the default): through the real write path,
  `app.accounts.service.update_account` (the row lock, the version, the audit row, the
  `account.updated` outbox row whose trigger queues deliveries); the writers are spread
  over `--processes` processes;
- `--path sql`: the same rows (the account, its audit row, its outbox row) written by one
  statement per transaction over asyncpg, so that the client's CPU does not hide what
  the commit costs PostgreSQL (as when the servers run on other hosts than the database).

Variants, run alternately, each for `--seconds`:

- notify: the outbox trigger NOTIFYs the new ids (migration 0010's trigger);
- quiet: the same trigger without the NOTIFY.

The trigger in place before the run is restored after it. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import time
from typing import Any

import orjson

from app import db
from app.__main__ import migrate
from app.accounts import service as accounts
from app.kit.actor import Actor
from app.models.auth import Role
from bench.ingest import database_url, raw_connection

_QUEUE = """
    INSERT INTO webhook_deliveries (webhook_id, event_id, event, object_key, next_attempt_at)
    SELECT w.id, e.id, e.type, e.object_key, e.created_at
    FROM new_events e JOIN webhooks w ON w.is_active AND e.type = ANY(w.events)
    ORDER BY e.id, w.id;
"""
_NOTIFY = """
    FOR ids IN
        SELECT string_agg(id::text, ',' ORDER BY id)
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 500 AS chunk FROM new_events) s
        GROUP BY chunk
    LOOP
        PERFORM pg_notify('accountflow_events', ids);
    END LOOP;
"""
VARIANTS = {"notify": _QUEUE + _NOTIFY, "quiet": _QUEUE}


def _trigger(body: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION outbox_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE ids text;\nBEGIN\n{body}\n    RETURN NULL;\nEND\n$$"
    )


async def _seed(url: str, writers: int) -> tuple[list[int], str, dict[str, str]]:
    """An account per writer, the trigger in place now, and the server's commit settings."""
    connection = await raw_connection(url)
    try:
        await connection.execute("TRUNCATE outbox, webhooks CASCADE")
        rows = await connection.fetch(
            "INSERT INTO accounts (name) SELECT 'Notify ' || i FROM generate_series(1, $1) i "
            "RETURNING id",
            writers,
        )
        current = await connection.fetchval("SELECT pg_get_functiondef('outbox_fan_out'::regproc)")
        names = ("fsync", "synchronous_commit", "wal_sync_method", "max_connections")
        found = {name: await connection.fetchval(f"SHOW {name}") for name in names}
        return [int(r[0]) for r in rows], str(current), found
    finally:
        await connection.close()


async def _install(url: str, definition: str) -> None:
    connection = await raw_connection(url)
    try:
        await connection.execute(definition)
    finally:
        await connection.close()


async def _writer(sessionmaker: Any, account_id: int, until: float) -> int:
    actor = Actor(user_id=None, role=Role.ADMIN, token_id=None, request_id="bench-notify")
    commits = 0
    while time.time() < until:
        async with sessionmaker() as session:
            name = f"Notify {account_id} {commits}"
            await accounts.update_account(session, actor=actor, account_id=account_id, name=name)
            await session.commit()
        commits += 1
    return commits


async def _writers(url: str, ids: list[int], start_at: float, seconds: float) -> int:
    engine = db.create_engine(url, pool_size=len(ids), max_overflow=0)
    try:
        sessionmaker = db.create_sessionmaker(engine)
        warm_until = time.time() + 0.5  # connected, statements cached
        await asyncio.gather(*(_writer(sessionmaker, i, warm_until) for i in ids))
        await asyncio.sleep(max(0.0, start_at - time.time()))
        counts = await asyncio.gather(*(_writer(sessionmaker, i, start_at + seconds) for i in ids))
        return sum(counts)
    finally:
        await engine.dispose()


# One statement, one commit: the account's new name and version, its audit row, its event.
_SQL_WRITE = """
    WITH a AS (
        UPDATE accounts SET name = $2::text, version = version + 1 WHERE id = $1::bigint
        RETURNING id, name, version),
    audit AS (
        INSERT INTO audit_log (action, entity_type, entity_id, changes)
        SELECT 'account.update', 'Account', a.id, jsonb_build_object('name', a.name) FROM a)
    INSERT INTO outbox (type, object_key, account_id, data)
    SELECT 'account.updated', 'Account:' || a.id, a.id,
           jsonb_build_object('id', a.id, 'name', a.name, 'version', a.version)
    FROM a
"""


async def _sql_writer(url: str, account_id: int, start_at: float, until: float) -> int:
    connection = await raw_connection(url)
    try:
        await connection.execute(_SQL_WRITE, account_id, "warm")
        await asyncio.sleep(max(0.0, start_at - time.time()))
        commits = 0
        while time.time() < until:
            await connection.execute(_SQL_WRITE, account_id, f"Notify {account_id} {commits}")
            commits += 1
        return commits
    finally:
        await connection.close()


async def _sql_writers(url: str, ids: list[int], start_at: float, seconds: float) -> int:
    until = start_at + seconds
    return sum(await asyncio.gather(*(_sql_writer(url, i, start_at, until) for i in ids)))


def _child(url: str, ids: list[int], start_at: float, seconds: float, path: str) -> int:
    writers = _writers if path == "service" else _sql_writers
    return asyncio.run(writers(url, ids, start_at, seconds))


def run_variant(
    url: str, ids: list[int], *, processes: int, seconds: float, path: str
) -> dict[str, Any]:
    shares = [ids[n::processes] for n in range(processes)]
    start_at = time.time() + 5  # every process connected and warm before the clock starts
    load_before = os.getloadavg()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        jobs = [(url, share, start_at, seconds, path) for share in shares]
        counts = pool.starmap(_child, jobs)
    return {
        "commits": sum(counts),
        "commits_per_s": round(sum(counts) / seconds),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--path", choices=["service", "sql"], default="service")
    args = parser.parse_args()
    url = database_url()
    migrate(url)
    ids, migrated, server = asyncio.run(_seed(url, args.writers))
    runs: list[dict[str, Any]] = []
    try:
        for _ in range(args.rounds):
            for variant, body in VARIANTS.items():
                asyncio.run(_install(url, _trigger(body)))
                found = run_variant(
                    url, ids, processes=args.processes, seconds=args.seconds, path=args.path
                )
                runs.append({"variant": variant, **found})
    finally:
        asyncio.run(_install(url, migrated))
    rates = {v: [r["commits_per_s"] for r in runs if r["variant"] == v] for v in VARIANTS}
    best = {v: max(found) for v, found in rates.items()}
    cost = 1 - best["notify"] / best["quiet"]
    result = {"path": args.path, "writers": args.writers, "processes": args.processes}
    result["server"] = server
    result |= {"runs": runs, "notify_cost": round(cost, 3)}
    print(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
