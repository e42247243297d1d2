"""The data of bench.stage_reports: 100,000 accounts with 1,000,000 stage events over two
years, generated once per data dir by set-based SQL, and the accounts the moves use."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from app import db
from app.settings import DbTimeouts

# Generating a year of 1,000,000 stage events takes statements longer than a request's limit.
SETUP_TIMEOUTS = DbTimeouts(statement_ms=0, lock_ms=0, idle_in_transaction_ms=0)

ACCOUNTS = 100_000
EVENTS_PER_ACCOUNT = 10
REPS = 20

# Each account: `enter` PROSPECT, then cycles qualify -> handoff -> lose -> reopen, at ten
# random sorted times over the last two years; about 5% of handoffs are still pending.
GENERATE = [
    "TRUNCATE blocked_attempts, stage_events, pipeline_entries, activities, contacts, accounts"
    " RESTART IDENTITY CASCADE",
    f"""INSERT INTO users (email, name, role)
        SELECT 'bench.rep' || i || '@example.org', 'Rep ' || i, 'REP'
        FROM generate_series(1, {REPS}) AS i ON CONFLICT (email) DO NOTHING""",
    f"""INSERT INTO accounts (name, industry, created_at)
        SELECT 'Account ' || i, (ARRAY['Agriculture','Forestry','Mining'])[1 + i % 3],
               now() - interval '731 days'
        FROM generate_series(1, {ACCOUNTS}) AS i""",
    f"""CREATE TEMP TABLE bench_times AS
        SELECT a.id AS account_id,
               (row_number() OVER (PARTITION BY a.id ORDER BY x.t) - 1)::int AS k, x.t
        FROM accounts a
        CROSS JOIN LATERAL (
            SELECT now() - random() * interval '730 days' - (a.id * 0) * interval '1 s' AS t
            FROM generate_series(1, {EVENTS_PER_ACCOUNT})
        ) x""",
    """CREATE TEMP TABLE bench_steps (step int, trigger text, from_stage text, to_stage text)""",
    """INSERT INTO bench_steps VALUES
        (0, 'qualify', 'PROSPECT', 'QUALIFIED'), (1, 'handoff', 'QUALIFIED', 'OPPORTUNITY'),
        (2, 'lose', 'OPPORTUNITY', 'LOST'), (3, 'reopen', 'LOST', 'PROSPECT')""",
    """INSERT INTO stage_events
        (account_id, pipeline_id, from_stage, to_stage, trigger, occurred_at, to_owner_id,
         is_handoff, missing_recommended, seconds_in_previous_stage, touches_in_previous_stage,
         accepted_at)
        SELECT t.account_id, p.id,
               CASE WHEN t.k = 0 THEN NULL ELSE s.from_stage END,
               CASE WHEN t.k = 0 THEN 'PROSPECT' ELSE s.to_stage END,
               CASE WHEN t.k = 0 THEN 'enter' ELSE s.trigger END,
               t.t,
               (SELECT min(id) FROM users WHERE role = 'REP') + t.account_id % 20,
               coalesce(s.trigger = 'handoff', false),
               coalesce(CASE WHEN s.trigger = 'handoff' THEN CASE t.account_id % 4
                   WHEN 0 THEN ARRAY['attribute:budget', 'attribute:timeline']
                   WHEN 1 THEN ARRAY['attribute:timeline']
                   WHEN 2 THEN ARRAY['attribute:budget'] END END, '{}'),
               extract(epoch FROM t.t - lag(t.t) OVER (PARTITION BY t.account_id ORDER BY t.k)),
               CASE WHEN t.k > 0 THEN (t.account_id + t.k) % 4 END,
               CASE WHEN s.trigger = 'handoff' AND random() > 0.05
                    THEN t.t + random() * interval '3 days' END
        FROM bench_times t
        CROSS JOIN pipelines p
        LEFT JOIN bench_steps s ON s.step = (t.k - 1) % 4 AND t.k > 0
        WHERE p.key = 'default'""",
    """INSERT INTO pipeline_entries (account_id, pipeline_id, stage, owner_id, entered_at)
        SELECT DISTINCT ON (account_id) account_id, pipeline_id, to_stage, to_owner_id,
               occurred_at
        FROM stage_events ORDER BY account_id, occurred_at DESC""",
    """INSERT INTO blocked_attempts
        (account_id, pipeline_id, from_stage, to_stage, trigger, is_handoff, missing, occurred_at)
        SELECT 1 + (i * 7919) % 100000, p.id, 'QUALIFIED', 'OPPORTUNITY', 'handoff', true,
               CASE WHEN i % 2 = 0 THEN ARRAY['contact_role:DECISION_MAKER',
                    'activity_within:30'] ELSE ARRAY['activity_within:30'] END,
               now() - random() * interval '730 days'
        FROM generate_series(1, 100000) AS i CROSS JOIN pipelines p WHERE p.key = 'default'""",
]


async def generate(url: str, *, force: bool) -> dict[str, Any]:
    engine = db.create_engine(url, timeouts=SETUP_TIMEOUTS)
    started = time.perf_counter()
    try:
        async with engine.begin() as connection:
            events = await connection.scalar(text("SELECT count(*) FROM stage_events"))
            fresh = force or not events or events < ACCOUNTS * EVENTS_PER_ACCOUNT
            if fresh:
                for statement in GENERATE:
                    await connection.execute(text(statement))
        async with engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
            counts = await autocommit.execute(
                text(
                    "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM stage_events),"
                    " (SELECT count(*) FROM blocked_attempts)"
                )
            )
            accounts, events, blocked = counts.one()
        return {
            "generated": fresh,
            "seconds": round(time.perf_counter() - started, 1),
            "accounts": accounts,
            "stage_events": events,
            "blocked_attempts": blocked,
        }
    finally:
        await engine.dispose()


async def movable_accounts(url: str, limit: int) -> list[tuple[int, str]]:
    engine = db.create_engine(url, timeouts=SETUP_TIMEOUTS)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT account_id, stage FROM pipeline_entries "
                    "WHERE stage IN ('PROSPECT', 'QUALIFIED', 'LOST') ORDER BY account_id LIMIT :n"
                ),
                {"n": limit},
            )
            return [(int(r[0]), str(r[1])) for r in rows]
    finally:
        await engine.dispose()


async def current_stages(url: str, ids: Sequence[int]) -> dict[int, str]:
    engine = db.create_engine(url, timeouts=SETUP_TIMEOUTS)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT e.account_id, e.stage FROM pipeline_entries e JOIN pipelines p"
                    " ON p.id = e.pipeline_id WHERE p.key = 'default' AND e.account_id = ANY(:ids)"
                ),
                {"ids": list(ids)},
            )
            return {int(r[0]): str(r[1]) for r in rows}
    finally:
        await engine.dispose()
