"""The revenue trigger on activities (0005, 0008, now 0012): yearly sums, churn, window.

Per statement on activities that touches revenue events: the yearly sums (as 0008 kept
them), churn_years from them, and account_revenue_window (app/planning/window.py); first a
share lock on the window's anchor, so that moving the anchor never races a write.

Churn year Y counts last year's customers (revenue in Y - 1 above zero) and which of them
bought nothing in Y. A statement's revenue change d per (account, year y) can change the
account's part in churn years y and y + 1 only. The revenue trigger function (0005, 0008)
now, after adding d to account_revenue_years, reads each affected year's revenue after
(the table) and before (the table minus d) and adds the difference of the account's part
per churn year and shard. One firing handles exactly its own change, so an INSERT ... ON
CONFLICT DO UPDATE on activities, which fires the INSERT and the UPDATE trigger, is right.
(A trigger on account_revenue_years could not be: the revenue upsert inserts and updates
in one statement, and each of its two firings sees the other's rows already changed.)
Shards (account_id % 16) spread concurrent writers over rows; keys are written in order.
Bulk loads with the activities trigger off must run REBUILD afterwards.
"""

from __future__ import annotations

SHARDS = 16

REVENUE = "kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL"

# 0008's upsert of the yearly sums, unchanged.
UPSERT = f"""
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM ({{rows}}) AS d
        WHERE {REVENUE}
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;"""

# An account's part in churn year Y from its revenue in Y - 1 (prev) and Y (cur); null
# counts as no revenue.
PART = """
               (coalesce({prev}, 0) > 0)::int AS customers,
               (coalesce({prev}, 0) > 0 AND NOT coalesce({cur}, 0) > 0)::int AS churned,
               CASE WHEN {prev} > 0 THEN {prev} ELSE 0 END AS revenue_at_start,
               CASE WHEN {prev} > 0 AND NOT coalesce({cur}, 0) > 0 THEN {prev} ELSE 0 END
                   AS revenue_lost"""

# Each delta row (account, y, d) is the current year of churn year y and the previous year
# of churn year y + 1; the revenue before the statement is the table's minus d. Revenue is
# looked up by key per affected row (the primary key), a plan that stays right whatever
# the planner guesses of a transition table's size.
CHURN = f"""
        WITH delta AS (
            SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int AS year,
                   sum(amount) AS d
            FROM ({{rows}}) AS x
            WHERE {REVENUE}
            GROUP BY 1, 2
        ),
        affected AS (
            SELECT account_id, year + k AS year,
                   coalesce(sum(d) FILTER (WHERE k = 1), 0) AS d_prev,
                   coalesce(sum(d) FILTER (WHERE k = 0), 0) AS d_cur
            FROM delta CROSS JOIN (VALUES (0), (1)) AS shift(k)
            GROUP BY 1, 2
        ),
        looked_up AS (
            SELECT a.*,
                   (SELECT r.revenue FROM account_revenue_years r
                    WHERE r.account_id = a.account_id AND r.year = a.year - 1) AS new_prev,
                   (SELECT r.revenue FROM account_revenue_years r
                    WHERE r.account_id = a.account_id AND r.year = a.year) AS new_cur
            FROM affected a
        ),
        revenue AS (
            SELECT account_id, year, new_prev, new_cur,
                   coalesce(new_prev, 0) - d_prev AS old_prev,
                   coalesce(new_cur, 0) - d_cur AS old_cur
            FROM looked_up
        ),
        parts AS (
            SELECT account_id, year, 1 AS sign,{PART.format(prev="new_prev", cur="new_cur")}
            FROM revenue
            UNION ALL
            SELECT account_id, year, -1,{PART.format(prev="old_prev", cur="old_cur")}
            FROM revenue
        )
        INSERT INTO churn_years AS t
            (year, shard, customers, churned, revenue_at_start, revenue_lost)
        SELECT year, account_id % {SHARDS}, sum(sign * customers), sum(sign * churned),
               sum(sign * revenue_at_start), sum(sign * revenue_lost)
        FROM parts
        GROUP BY 1, 2
        HAVING sum(sign * customers) <> 0 OR sum(sign * churned) <> 0
            OR sum(sign * revenue_at_start) <> 0 OR sum(sign * revenue_lost) <> 0
        ORDER BY 1, 2
        ON CONFLICT (year, shard) DO UPDATE
        SET customers = t.customers + EXCLUDED.customers,
            churned = t.churned + EXCLUDED.churned,
            revenue_at_start = t.revenue_at_start + EXCLUDED.revenue_at_start,
            revenue_lost = t.revenue_lost + EXCLUDED.revenue_lost;"""

WINDOW = f"""
        INSERT INTO account_revenue_window AS t (account_id, cents)
        SELECT x.account_id, sum((x.amount * 100)::bigint)
        FROM ({{rows}}) AS x, revenue_window_anchor a
        WHERE a.id = 1 AND x.occurred_at >= a.since AND {REVENUE}
        GROUP BY 1
        HAVING sum((x.amount * 100)::bigint) <> 0
        ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET cents = t.cents + EXCLUDED.cents;"""

LOCK_ANCHOR = """
        PERFORM 1 FROM revenue_window_anchor WHERE id = 1 FOR SHARE;"""

NEW = "SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL"
OLD = (
    "SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL"
)


def _function(churn: bool) -> str:
    def both(rows: str) -> str:
        if not churn:
            return UPSERT.format(rows=rows)
        work = "".join(s.format(rows=rows) for s in (UPSERT, CHURN, WINDOW))
        return f"""
        IF EXISTS (SELECT 1 FROM ({rows}) AS r WHERE {REVENUE}) THEN{LOCK_ANCHOR}{work}
        END IF;"""

    return f"""
CREATE OR REPLACE FUNCTION planning_account_revenue_years() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{both(NEW)}
    ELSIF TG_OP = 'UPDATE' THEN{both(NEW + " UNION ALL " + OLD)}
    ELSE{both(OLD)}
    END IF;
    RETURN NULL;
END $$;
"""


REVENUE_FUNCTION = _function(churn=True)
# 0008's function, put back on downgrade.
REVENUE_FUNCTION_0008 = _function(churn=False)

# Every account's part from scratch: the backfill, the rebuild after bulk loads, and the
# tests' reference.
RECOMPUTE = f"""
SELECT p.year + 1, p.account_id % {SHARDS}, count(*),
       count(*) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), sum(p.revenue),
       coalesce(sum(p.revenue) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), 0)
FROM account_revenue_years p
LEFT JOIN account_revenue_years c ON c.account_id = p.account_id AND c.year = p.year + 1
WHERE p.revenue > 0
GROUP BY 1, 2
"""

BACKFILL = (
    "INSERT INTO churn_years (year, shard, customers, churned, revenue_at_start, revenue_lost)"
    + RECOMPUTE
)

ANCHOR = (
    "INSERT INTO revenue_window_anchor (id, since)"
    " VALUES (1, date_trunc('hour', now() - interval '12 months', 'UTC'))"
)
WINDOW_BACKFILL = f"""
INSERT INTO account_revenue_window (account_id, cents)
SELECT account_id, sum((amount * 100)::bigint)
FROM activities, revenue_window_anchor a
WHERE a.id = 1 AND occurred_at >= a.since AND voided_at IS NULL AND {REVENUE}
GROUP BY account_id
"""

REBUILD = [
    "DELETE FROM churn_years",
    BACKFILL,
    "DELETE FROM account_revenue_window",
    WINDOW_BACKFILL,
]
