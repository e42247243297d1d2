"""`python -m bench.faults kill|pgstop|soak`: see bench/faults/__init__.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from bench.faults.kill import kill_scenario
from bench.faults.pgstop import pgstop_scenario
from bench.faults.soak import soak_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="scenario", required=True)
    kill = commands.add_parser("kill", help="kill -9 the server during logActivities")
    kill.add_argument("--events", type=int, default=60_000)
    kill.add_argument("--batch", type=int, default=500)
    kill.add_argument("--clients", type=int, default=4)
    kill.add_argument("--kill-after", type=float, default=4.0, help="seconds of ingest first")
    pgstop = commands.add_parser("pgstop", help="pg_ctl stop -m fast under load, then start")
    pgstop.add_argument("--clients", type=int, default=8)
    pgstop.add_argument("--before", type=float, default=5.0)
    pgstop.add_argument("--down", type=float, default=10.0)
    pgstop.add_argument("--after", type=float, default=15.0)
    soak = commands.add_parser("soak", help="mixed reads, searches, moves and ingest for --minutes")
    soak.add_argument("--minutes", type=float, default=30.0)
    soak.add_argument("--connections", type=int, default=32)
    for sub in (kill, pgstop, soak):
        sub.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    scenario = {"kill": kill_scenario, "pgstop": pgstop_scenario, "soak": soak_scenario}
    load_before = os.getloadavg()[0]
    result = asyncio.run(scenario[args.scenario](args))
    figures = {"scenario": args.scenario, "load_avg_before": load_before, **result}
    print(json.dumps(figures | {"load_avg_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
