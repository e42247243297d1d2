"""Faults by hand: kill -9 the server mid-ingest, stop PostgreSQL under load, a long soak.

    export ACCOUNTFLOW_DATA_DIR=/tmp/bench-faults
    .venv/bin/python -m bench.faults kill     # kill -9 during logActivities, resend everything
    .venv/bin/python -m bench.faults pgstop   # pg_ctl stop -m fast under load, then start
    .venv/bin/python -m bench.faults soak --minutes 30 --connections 32

The server is `accountflow serve` (DATABASE_URL set) in its own process group on 127.0.0.1;
the embedded PostgreSQL lives in the data dir. Each scenario prints one JSON object.
SOAK_PROFILE=2,5 runs the server under bench/faults/profiled.py (a memory profile).
"""
