"""report summaries: per-day stage, handoff and blocked-attempt sums kept by triggers

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 00:20:00.000000
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY_TABLES = [
    "stage_day_pairs",
    "stage_day_stays",
    "handoff_days",
    "handoff_day_waits",
    "handoff_day_missing",
    "blocked_day_missing",
]
PLANNING_TABLES = ["churn_years", "revenue_window_anchor", "account_revenue_window"]
WAIT = sa.text("(extract(epoch FROM accepted_at - occurred_at)::float8)")


def _sql(name: str) -> str:
    """A statement of this revision, kept in the folder of the same name beside it."""
    return (Path(__file__).with_suffix("") / name).read_text()


# The SQL that app.handoff.summary_sql and app.planning.revenue_sql built at this revision
# (summary triggers, their backfill, the revenue trigger with churn and window), frozen
# here: the migration carries its own SQL so later edits to the app cannot rewrite history.
SUMMARY_CREATE = [
    """
CREATE FUNCTION report_bucket(seconds float8) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN seconds > 0 AND seconds < 'Infinity'::float8 THEN floor(ln(seconds) * 8)::integer
        WHEN seconds <= 0 THEN -100000
        ELSE 100000
    END
$$;
""",
    """
CREATE FUNCTION report_bucket_low(bucket integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN bucket = 100000 THEN 'Infinity'::float8
        WHEN bucket < -4000 THEN '-Infinity'::float8
        ELSE exp((bucket - 0.01) / 8.0)::float8
    END
$$;
""",
    """
CREATE FUNCTION report_bucket_high(bucket integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN bucket >= 5670 THEN 'NaN'::float8
        WHEN bucket < -4000 THEN 1e-200::float8
        ELSE exp((bucket + 1.01) / 8.0)::float8
    END
$$;
""",
    _sql("stage_events_summaries.sql"),
    _sql("blocked_attempts_summaries.sql"),
    "CREATE TRIGGER stage_events_summaries_insert AFTER INSERT ON stage_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_events_summaries()",
    "CREATE TRIGGER stage_events_summaries_update AFTER UPDATE ON stage_events REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_events_summaries()",
    "CREATE TRIGGER stage_events_summaries_delete AFTER DELETE ON stage_events REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION stage_events_summaries()",
    "CREATE TRIGGER stage_events_summaries_truncate AFTER TRUNCATE ON stage_events FOR EACH STATEMENT EXECUTE FUNCTION stage_events_summaries()",
    "CREATE TRIGGER blocked_attempts_summaries_insert AFTER INSERT ON blocked_attempts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION blocked_attempts_summaries()",
    "CREATE TRIGGER blocked_attempts_summaries_update AFTER UPDATE ON blocked_attempts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION blocked_attempts_summaries()",
    "CREATE TRIGGER blocked_attempts_summaries_delete AFTER DELETE ON blocked_attempts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION blocked_attempts_summaries()",
    "CREATE TRIGGER blocked_attempts_summaries_truncate AFTER TRUNCATE ON blocked_attempts FOR EACH STATEMENT EXECUTE FUNCTION blocked_attempts_summaries()",
]

REVENUE_FUNCTION = _sql("revenue_function.sql")

SUMMARY_BACKFILL = [
    """
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM stage_events)
    INSERT INTO stage_day_pairs AS t
        (pipeline_id, day, from_stage, to_stage, shard, events, touches)
    SELECT pipeline_id, day, coalesce(from_stage, ''), to_stage, 0,
           sum(sign), sum(sign * coalesce(touches, 0))
    FROM d
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * coalesce(touches, 0)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
    SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches;""",
    """
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM stage_events)
    INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
    SELECT pipeline_id, day, from_stage, report_bucket(seconds), 0, sum(sign)
    FROM d
    WHERE from_stage IS NOT NULL AND seconds IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
    SET stays = t.stays + EXCLUDED.stays;""",
    """
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM stage_events)
    INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
    SELECT pipeline_id, day, 0, sum(sign),
           coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0)
    FROM d
    WHERE is_handoff
    GROUP BY 1, 2
    HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0) <> 0
    ORDER BY 1, 2
    ON CONFLICT (pipeline_id, day, shard) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted;""",
    """
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM stage_events)
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
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM stage_events)
    INSERT INTO handoff_day_missing AS t (pipeline_id, day, requirement, handoffs)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing_recommended) AS m(requirement)
    WHERE d.is_handoff
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs;""",
    """
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, 1 AS sign
        FROM blocked_attempts)
    INSERT INTO blocked_day_missing AS t (pipeline_id, day, requirement, attempts)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing) AS m(requirement)
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET attempts = t.attempts + EXCLUDED.attempts;""",
]

REVENUE_BACKFILL = """INSERT INTO churn_years (year, shard, customers, churned, revenue_at_start, revenue_lost)
SELECT p.year + 1, p.account_id % 16, count(*),
       count(*) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), sum(p.revenue),
       coalesce(sum(p.revenue) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), 0)
FROM account_revenue_years p
LEFT JOIN account_revenue_years c ON c.account_id = p.account_id AND c.year = p.year + 1
WHERE p.revenue > 0
GROUP BY 1, 2
"""

REVENUE_ANCHOR = "INSERT INTO revenue_window_anchor (id, since) VALUES (1, date_trunc('hour', now() - interval '12 months', 'UTC'))"

REVENUE_WINDOW_BACKFILL = """
INSERT INTO account_revenue_window (account_id, cents)
SELECT account_id, sum((amount * 100)::bigint)
FROM activities, revenue_window_anchor a
WHERE a.id = 1 AND occurred_at >= a.since AND voided_at IS NULL AND kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
GROUP BY account_id
"""

REVENUE_FUNCTION_0008 = _sql("revenue_function_0008.sql")

SUMMARY_DROP = [
    "DROP TRIGGER stage_events_summaries_insert ON stage_events",
    "DROP TRIGGER stage_events_summaries_update ON stage_events",
    "DROP TRIGGER stage_events_summaries_delete ON stage_events",
    "DROP TRIGGER stage_events_summaries_truncate ON stage_events",
    "DROP TRIGGER blocked_attempts_summaries_insert ON blocked_attempts",
    "DROP TRIGGER blocked_attempts_summaries_update ON blocked_attempts",
    "DROP TRIGGER blocked_attempts_summaries_delete ON blocked_attempts",
    "DROP TRIGGER blocked_attempts_summaries_truncate ON blocked_attempts",
    "DROP FUNCTION blocked_attempts_summaries()",
    "DROP FUNCTION stage_events_summaries()",
]

SUMMARY_DROP_FUNCTIONS = [
    "DROP FUNCTION report_bucket_high(integer)",
    "DROP FUNCTION report_bucket_low(integer)",
    "DROP FUNCTION report_bucket(float8)",
]


def _day_table(name: str, keys: list[sa.Column[object]], counts: list[str]) -> None:
    op.create_table(
        name,
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *keys,
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in counts),
        sa.PrimaryKeyConstraint(
            "pipeline_id", "day", *(k.name for k in keys), name=op.f(f"pk_{name}")
        ),
    )


def upgrade() -> None:
    stage = sa.Column("from_stage", sa.String(length=64), nullable=False)
    _day_table(
        "stage_day_pairs",
        [
            stage,
            sa.Column("to_stage", sa.String(length=64), nullable=False),
            sa.Column("shard", sa.SmallInteger(), nullable=False),
        ],
        ["events", "touches"],
    )
    _day_table(
        "stage_day_stays",
        [
            sa.Column("from_stage", sa.String(length=64), nullable=False),
            sa.Column("bucket", sa.Integer(), nullable=False),
            sa.Column("shard", sa.SmallInteger(), nullable=False),
        ],
        ["stays"],
    )
    _day_table(
        "handoff_days",
        [sa.Column("shard", sa.SmallInteger(), nullable=False)],
        ["handoffs", "accepted"],
    )
    _day_table(
        "handoff_day_waits", [sa.Column("bucket", sa.Integer(), nullable=False)], ["accepted"]
    )
    _day_table(
        "handoff_day_missing",
        [sa.Column("requirement", sa.String(length=100), nullable=False)],
        ["handoffs"],
    )
    _day_table(
        "blocked_day_missing",
        [sa.Column("requirement", sa.String(length=100), nullable=False)],
        ["attempts"],
    )
    # Accepted handoffs in wait order: the median's rows are found without reading the range.
    op.create_index(
        "ix_stage_events_handoff_waits",
        "stage_events",
        [sa.literal_column("pipeline_id"), WAIT],
        postgresql_include=["occurred_at", "accepted_at"],
        postgresql_where=sa.text("is_handoff AND accepted_at IS NOT NULL"),
    )
    op.create_table(
        "churn_years",
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("customers", sa.BigInteger(), nullable=False),
        sa.Column("churned", sa.BigInteger(), nullable=False),
        sa.Column("revenue_at_start", sa.Numeric(), nullable=False),
        sa.Column("revenue_lost", sa.Numeric(), nullable=False),
        sa.PrimaryKeyConstraint("year", "shard", name=op.f("pk_churn_years")),
    )
    op.create_table(
        "revenue_window_anchor",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_window_anchor")),
    )
    op.create_table(
        "account_revenue_window",
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("cents", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_revenue_window")),
    )
    for statement in [*SUMMARY_CREATE, REVENUE_FUNCTION]:
        op.execute(statement)
    backfill = [REVENUE_BACKFILL, REVENUE_ANCHOR, REVENUE_WINDOW_BACKFILL]
    for statement in [*SUMMARY_BACKFILL, *backfill]:
        op.execute(statement)
    op.execute("ANALYZE " + ", ".join([*SUMMARY_TABLES, *PLANNING_TABLES]))


def downgrade() -> None:
    for statement in [REVENUE_FUNCTION_0008, *SUMMARY_DROP]:
        op.execute(statement)
    for statement in SUMMARY_DROP_FUNCTIONS:
        op.execute(statement)
    op.drop_index("ix_stage_events_handoff_waits", table_name="stage_events")
    for name in [*PLANNING_TABLES, *SUMMARY_TABLES]:
        op.drop_table(name)
