"""The triggers that keep app.handoff.summaries, and their backfill (migration 0012).

Every statement that writes stage_events or blocked_attempts adds its new rows (+1) and
takes away its old rows (-1), summed per summary key in one upsert per table, keys in
order so concurrent writers lock rows in the same order. A key whose delta is zero (an
UPDATE that moved an event to another account) writes nothing, and the handoff tables are
not visited by statements without handoffs.
"""

from __future__ import annotations

BUCKET_FUNCTION = """
CREATE FUNCTION report_bucket(seconds float8) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN seconds > 0 AND seconds < 'Infinity'::float8 THEN floor(ln(seconds) * 8)::integer
        WHEN seconds <= 0 THEN -100000
        ELSE 100000
    END
$$;
"""

# Bounds around a bucket's values, 1% of a bucket wider since ln and exp round (the bucket
# itself decides): an index range low <= s <= high for one bucket's rows, clear of exp()'s
# overflow. NaN sorts after every float, so `<= NaN` also takes infinity and NaN.
BUCKET_LOW_FUNCTION = """
CREATE FUNCTION report_bucket_low(bucket integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN bucket = 100000 THEN 'Infinity'::float8
        WHEN bucket < -4000 THEN '-Infinity'::float8
        ELSE exp((bucket - 0.01) / 8.0)::float8
    END
$$;
"""

BUCKET_HIGH_FUNCTION = """
CREATE FUNCTION report_bucket_high(bucket integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN bucket >= 5670 THEN 'NaN'::float8
        WHEN bucket < -4000 THEN 1e-200::float8
        ELSE exp((bucket + 1.01) / 8.0)::float8
    END
$$;
"""

STAGE_ROWS = """SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, {sign} AS sign
        FROM {table}"""

BLOCKED_ROWS = """SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, {sign} AS sign
        FROM {table}"""

STAGE_UPSERTS = [
    """
    WITH d AS ({rows})
    INSERT INTO stage_day_pairs AS t
        (pipeline_id, day, from_stage, to_stage, shard, events, touches)
    SELECT pipeline_id, day, coalesce(from_stage, ''), to_stage, {shard},
           sum(sign), sum(sign * coalesce(touches, 0))
    FROM d
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * coalesce(touches, 0)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
    SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches;""",
    """
    WITH d AS ({rows})
    INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
    SELECT pipeline_id, day, from_stage, report_bucket(seconds), {shard}, sum(sign)
    FROM d
    WHERE from_stage IS NOT NULL AND seconds IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
    SET stays = t.stays + EXCLUDED.stays;""",
    """
    WITH d AS ({rows})
    INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
    SELECT pipeline_id, day, {shard}, sum(sign),
           coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0)
    FROM d
    WHERE is_handoff
    GROUP BY 1, 2
    HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0) <> 0
    ORDER BY 1, 2
    ON CONFLICT (pipeline_id, day, shard) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted;""",
    """
    WITH d AS ({rows})
    INSERT INTO handoff_day_waits AS t (pipeline_id, day, bucket, accepted)
    SELECT pipeline_id, day, report_bucket(wait), sum(sign)
    FROM d
    WHERE is_handoff AND wait IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, bucket) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted;""",
    """
    WITH d AS ({rows})
    INSERT INTO handoff_day_missing AS t (pipeline_id, day, requirement, handoffs)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing_recommended) AS m(requirement)
    WHERE d.is_handoff
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs;""",
]

BLOCKED_UPSERTS = [
    """
    WITH d AS ({rows})
    INSERT INTO blocked_day_missing AS t (pipeline_id, day, requirement, attempts)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing) AS m(requirement)
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET attempts = t.attempts + EXCLUDED.attempts;""",
]

STAGE_TABLES = [
    "stage_day_pairs",
    "stage_day_stays",
    "handoff_days",
    "handoff_day_waits",
    "handoff_day_missing",
]
BLOCKED_TABLES = ["blocked_day_missing"]


# Rows of one day are spread over SHARDS rows by the writer's backend, so concurrent moves
# of one day and stage pair (every `lose` today) rarely wait on each other's row lock; the
# server folds the shards of past days into shard 0 (FOLD), so a report reads at most
# today's rows several times.
SHARDS = 8
BACKEND_SHARD = f"(pg_backend_pid() % {SHARDS})"


def _rows(rows: str, op: str) -> str:
    new, old = rows.format(table="new_rows", sign="1"), rows.format(table="old_rows", sign="-1")
    return {"INSERT": new, "UPDATE": f"{new}\n        UNION ALL\n        {old}", "DELETE": old}[op]


def _branch(op: str, rows: str, always: list[str], handoffs: list[str]) -> str:
    d = _rows(rows, op)
    work = "".join(u.format(rows=d, shard=BACKEND_SHARD) for u in always)
    if handoffs:
        tables = {"INSERT": ["new_rows"], "UPDATE": ["new_rows", "old_rows"]}.get(op, ["old_rows"])
        test = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE is_handoff)" for t in tables)
        inner = "".join(u.format(rows=d, shard=BACKEND_SHARD) for u in handoffs)
        work += f"\n    IF {test} THEN{inner}\n    END IF;"
    return work


def _function(
    name: str, rows: str, always: list[str], handoffs: list[str], tables: list[str]
) -> str:
    insert, update, delete = (_branch(op, rows, always, handoffs) for op in OPS)
    clear = "".join(f"\n    DELETE FROM {table};" for table in tables)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{insert}
    ELSIF TG_OP = 'UPDATE' THEN{update}
    ELSIF TG_OP = 'DELETE' THEN{delete}
    ELSE{clear}
    END IF;
    RETURN NULL;
END $$;
"""


OPS = ("INSERT", "UPDATE", "DELETE")


def _triggers(table: str, function: str) -> list[str]:
    each = f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
    return [
        f"CREATE TRIGGER {table}_summaries_insert AFTER INSERT ON {table}"
        f" REFERENCING NEW TABLE AS new_rows {each}",
        f"CREATE TRIGGER {table}_summaries_update AFTER UPDATE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {each}",
        f"CREATE TRIGGER {table}_summaries_delete AFTER DELETE ON {table}"
        f" REFERENCING OLD TABLE AS old_rows {each}",
        f"CREATE TRIGGER {table}_summaries_truncate AFTER TRUNCATE ON {table} {each}",
    ]


CREATE = [
    BUCKET_FUNCTION,
    BUCKET_LOW_FUNCTION,
    BUCKET_HIGH_FUNCTION,
    _function(
        "stage_events_summaries", STAGE_ROWS, STAGE_UPSERTS[:2], STAGE_UPSERTS[2:], STAGE_TABLES
    ),
    _function("blocked_attempts_summaries", BLOCKED_ROWS, BLOCKED_UPSERTS, [], BLOCKED_TABLES),
    *_triggers("stage_events", "stage_events_summaries"),
    *_triggers("blocked_attempts", "blocked_attempts_summaries"),
]

BACKFILL = [
    *(
        u.format(rows=STAGE_ROWS.format(table="stage_events", sign="1"), shard="0")
        for u in STAGE_UPSERTS
    ),
    *(
        u.format(rows=BLOCKED_ROWS.format(table="blocked_attempts", sign="1"), shard="0")
        for u in BLOCKED_UPSERTS
    ),
]

# (table, key columns, count columns) of the sharded summaries.
SHARDED = [
    ("stage_day_pairs", ["pipeline_id", "day", "from_stage", "to_stage"], ["events", "touches"]),
    ("stage_day_stays", ["pipeline_id", "day", "from_stage", "bucket"], ["stays"]),
    ("handoff_days", ["pipeline_id", "day"], ["handoffs", "accepted"]),
]


def _fold(table: str, keys: list[str], counts: list[str]) -> str:
    key = ", ".join(keys)
    sums = ", ".join(f"sum({c})" for c in counts)
    added = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in counts)
    return f"""
WITH moved AS (
    DELETE FROM {table} WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM {table} WHERE shard <> 0 AND day < (now() AT TIME ZONE 'UTC')::date
        FOR UPDATE SKIP LOCKED
    ))
    RETURNING *
)
INSERT INTO {table} AS t ({key}, shard, {", ".join(counts)})
SELECT {key}, 0, {sums} FROM moved GROUP BY {key} ORDER BY {key}
ON CONFLICT ({key}, shard) DO UPDATE SET {added}"""


FOLD = [_fold(*table) for table in SHARDED]

DROP_FUNCTIONS = [
    "DROP FUNCTION report_bucket_high(integer)",
    "DROP FUNCTION report_bucket_low(integer)",
    "DROP FUNCTION report_bucket(float8)",
]

DROP = [
    *(
        f"DROP TRIGGER {t}_summaries_{op} ON {t}"
        for t in ("stage_events", "blocked_attempts")
        for op in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION blocked_attempts_summaries()",
    "DROP FUNCTION stage_events_summaries()",
]
