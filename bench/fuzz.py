"""The fuzz test of tests/web/fuzz at full size: 10,000 generated operations across the roles.

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-fuzz .venv/bin/python -m bench.fuzz --operations 10000

Each run makes a fresh database `accountflow_fuzz` on the embedded PostgreSQL (or on the
server of DATABASE_URL), migrates and seeds it, then sends the operations to the real app in
process (httpx's ASGI transport), role after role, in chunks whose ids are refreshed from
the database. Prints one JSON object: operations, 5xx, INTERNAL, timeouts, writes from failed
mutations, and each distinct finding (kind, role, cause, the query) with `--findings FILE`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from app import db
from app.__main__ import migrate
from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from bench.ingest import raw_connection
from tests.support import Api
from tests.web.fuzz import fuzzer, generate
from tests.web.fuzz.seed import seed

DATABASE = "accountflow_fuzz"
CHUNK = 500


async def fresh_database(settings: Settings) -> str:
    url = db.resolve_database_url(settings)
    admin = await raw_connection(make_url(url).set(database="postgres").render_as_string(False))
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    fresh = make_url(url).set(database=DATABASE).render_as_string(hide_password=False)
    await asyncio.to_thread(migrate, fresh)  # alembic runs its own event loop
    return fresh


async def fuzz(operations: int) -> tuple[dict[str, object], list[fuzzer.Finding]]:
    # The daily refresh would write assignments and events between two snapshots.
    settings = Settings.from_env({**os.environ, "ACCOUNTFLOW_DAILY_UPKEEP": "0"})
    url = await fresh_database(settings)
    app = create_app(settings, url)
    engine = db.create_engine(url, pool_size=2)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as client:
            async with db.create_sessionmaker(engine)() as session:
                callers = await seed(Api(client, session))
            runner = fuzzer.Runner(client, engine, on_finding=progress)
            pool = generate.IdPool()
            roles = list(Role)
            per_role = operations // len(roles)
            for number, role in enumerate(roles):
                for chunk, start in enumerate(range(0, per_role, CHUNK)):
                    await pool.refresh(engine)
                    count = min(CHUNK, per_role - start)
                    queries = generate.generate(pool, count=count, seed_value=number * 1000 + chunk)
                    await runner.run(role.value, callers[role].token, queries)
                    print(f"{role.value}: {start + count} operations", file=sys.stderr)
    await engine.dispose()
    figures: dict[str, object] = {
        **runner.tally.figures(),
        "seconds": round(time.perf_counter() - started, 1),
        "load_avg_after": os.getloadavg()[0],
    }
    return figures, runner.tally.distinct()


def progress(finding: fuzzer.Finding) -> None:
    print(f"{finding.kind} {finding.role}: {finding.cause[:160]}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=10_000)
    parser.add_argument("--findings", type=Path, help="write each distinct finding here")
    args = parser.parse_args()
    # The app logs each unexpected error with its traceback; the findings carry the cause.
    logging.getLogger("accountflow").setLevel(logging.ERROR)
    logging.getLogger("accountflow").propagate = False
    load_before = os.getloadavg()[0]
    figures, distinct = asyncio.run(fuzz(args.operations))
    if args.findings is not None:
        args.findings.write_text("\n\n".join(f.describe() for f in distinct) + "\n")
    print(json.dumps({"load_avg_before": load_before, **figures}))


if __name__ == "__main__":
    main()
