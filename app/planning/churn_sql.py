"""The trigger that keeps churn_years from account_revenue_years, and its backfill (0012).

Churn year Y counts last year's customers (revenue in Y - 1 above zero) and which of them
bought nothing in Y. A change to an account's revenue in year y can change its part in
churn years y and y + 1 only: the trigger takes that part before the statement (the
changed rows' old values) and after it (the table now), and adds the difference per year
and shard. Shards (account_id % 16) spread concurrent writers over rows; keys in order.
"""

from __future__ import annotations

SHARDS = 16

# (prev, cur): an account's revenue in Y - 1 and in Y, either may be null.
PART = """
    (coalesce({prev}, 0) > 0)::int AS customers,
    (coalesce({prev}, 0) > 0 AND NOT coalesce({cur}, 0) > 0)::int AS churned,
    CASE WHEN {prev} > 0 THEN {prev} ELSE 0 END AS revenue_at_start,
    CASE WHEN {prev} > 0 AND NOT coalesce({cur}, 0) > 0 THEN {prev} ELSE 0 END AS revenue_lost"""

NONE = (
    "(SELECT NULL::bigint AS account_id, NULL::int AS year, NULL::numeric AS revenue WHERE false)"
)


def _before(alias: str) -> str:
    """A key's revenue before the statement: its old row, none if inserted, else unchanged."""
    return (
        f"CASE WHEN {alias}_o.account_id IS NOT NULL THEN {alias}_o.revenue"
        f" WHEN {alias}_n.account_id IS NOT NULL THEN NULL ELSE {alias}.revenue END"
    )


def _joins(alias: str, offset: str, old: str, new: str) -> str:
    on = f"ON {{t}}.account_id = a.account_id AND {{t}}.year = a.year{offset}"
    return (
        f"\n        LEFT JOIN account_revenue_years {alias} {on.format(t=alias)}"
        f"\n        LEFT JOIN {old} {alias}_o {on.format(t=alias + '_o')}"
        f"\n        LEFT JOIN {new} {alias}_n {on.format(t=alias + '_n')}"
    )


def _upsert(old: str, new: str) -> str:
    return f"""
    WITH changed AS (
        SELECT account_id, year FROM {new} AS n UNION SELECT account_id, year FROM {old} AS o
    ),
    affected AS (
        SELECT DISTINCT account_id, year + k AS year
        FROM changed CROSS JOIN (VALUES (0), (1)) AS shift(k)
    ),
    revenue AS (
        SELECT a.account_id, a.year, p.revenue AS new_prev, c.revenue AS new_cur,
               {_before("p")} AS old_prev, {_before("c")} AS old_cur
        FROM affected a{_joins("p", " - 1", old, new)}{_joins("c", "", old, new)}
    ),
    parts AS (
        SELECT account_id, year, 1 AS sign, {PART.format(prev="new_prev", cur="new_cur")}
        FROM revenue
        UNION ALL
        SELECT account_id, year, -1, {PART.format(prev="old_prev", cur="old_cur")}
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
    SET customers = t.customers + EXCLUDED.customers, churned = t.churned + EXCLUDED.churned,
        revenue_at_start = t.revenue_at_start + EXCLUDED.revenue_at_start,
        revenue_lost = t.revenue_lost + EXCLUDED.revenue_lost;"""


FUNCTION = f"""
CREATE FUNCTION planning_churn_years() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_upsert(NONE, "new_rows")}
    ELSIF TG_OP = 'UPDATE' THEN{_upsert("old_rows", "new_rows")}
    ELSIF TG_OP = 'DELETE' THEN{_upsert("old_rows", NONE)}
    ELSE
        DELETE FROM churn_years;
    END IF;
    RETURN NULL;
END $$;
"""

_EACH = "FOR EACH STATEMENT EXECUTE FUNCTION planning_churn_years()"
CREATE = [
    FUNCTION,
    "CREATE TRIGGER account_revenue_years_churn_insert AFTER INSERT ON account_revenue_years"
    f" REFERENCING NEW TABLE AS new_rows {_EACH}",
    "CREATE TRIGGER account_revenue_years_churn_update AFTER UPDATE ON account_revenue_years"
    f" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows {_EACH}",
    "CREATE TRIGGER account_revenue_years_churn_delete AFTER DELETE ON account_revenue_years"
    f" REFERENCING OLD TABLE AS old_rows {_EACH}",
    "CREATE TRIGGER account_revenue_years_churn_truncate AFTER TRUNCATE ON account_revenue_years"
    f" {_EACH}",
]

BACKFILL = f"""
INSERT INTO churn_years (year, shard, customers, churned, revenue_at_start, revenue_lost)
SELECT p.year + 1, p.account_id % {SHARDS}, count(*),
       count(*) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), sum(p.revenue),
       coalesce(sum(p.revenue) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), 0)
FROM account_revenue_years p
LEFT JOIN account_revenue_years c ON c.account_id = p.account_id AND c.year = p.year + 1
WHERE p.revenue > 0
GROUP BY 1, 2
"""

DROP = [
    *(
        f"DROP TRIGGER account_revenue_years_churn_{op} ON account_revenue_years"
        for op in ("insert", "update", "delete", "truncate")
    ),
    "DROP FUNCTION planning_churn_years()",
]
