"""CSV import and export of 100,000 accounts through the CLI (`accountflow import/export`).

    ACCOUNTFLOW_DATA_DIR=/tmp/bench-imports .venv/bin/python -m bench.imports

Generates the accounts (bench.generate) when the database has none, then:
1. exports them (`accountflow export accounts`), timed, with the process's peak RSS;
2. empties the accounts, drops the `id` column from the file and imports it
   (`accountflow import accounts`, keyed by externalRef: every row is created);
3. imports the same file again (every row unchanged).
Prints one JSON object, with the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app import db
from bench.generate import database_url, generate_accounts, vacuum_analyze


async def _count(url: str) -> int:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM accounts"))).scalar_one())
    finally:
        await engine.dispose()


async def _generate(url: str, accounts: int) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await generate_accounts(conn, accounts=accounts, contacts=0, seed=42)
        await vacuum_analyze(engine)
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("TRUNCATE accounts, audit_log CASCADE"))
    finally:
        await engine.dispose()


def _run(args: list[str], url: str, stdout: Any = subprocess.DEVNULL) -> dict[str, float]:
    """Run the CLI; wall seconds and the child's peak RSS (from wait4)."""
    env = {**os.environ, "DATABASE_URL": url}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "app", *args], env=env, stdout=stdout, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"{args} failed with {process.returncode}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def _without_id(source: Path, target: Path) -> int:
    rows = 0
    with source.open(newline="") as inp, target.open("w", newline="") as out:
        reader = csv.reader(inp)
        writer = csv.writer(out)
        for row in reader:
            writer.writerow(row[1:])
            rows += 1
    return rows - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    args = parser.parse_args()
    url = database_url()
    load_before = os.getloadavg()
    if asyncio.run(_count(url)) == 0:
        asyncio.run(_generate(url, args.accounts))
    rows = asyncio.run(_count(url))
    folder = Path(os.environ.get("ACCOUNTFLOW_DATA_DIR", "/tmp/bench-imports"))
    exported, to_import = folder / "export.csv", folder / "import.csv"
    with exported.open("wb") as out:
        export = _run(["export", "accounts"], url, stdout=out)
    export["rows_per_second"] = round(rows / export["seconds"])
    file_rows = _without_id(exported, to_import)
    asyncio.run(_empty(url))
    first = _run(["import", "accounts", str(to_import)], url)
    first["rows_per_second"] = round(file_rows / first["seconds"])
    imported = asyncio.run(_count(url))
    again = _run(["import", "accounts", str(to_import)], url)
    again["rows_per_second"] = round(file_rows / again["seconds"])
    result = {
        "accounts": rows,
        "file_mb": round(to_import.stat().st_size / 2**20, 1),
        "export": export,
        "import_create": first,
        "accounts_after_import": imported,
        "import_unchanged": again,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
