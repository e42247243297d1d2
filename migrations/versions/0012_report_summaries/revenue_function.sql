
CREATE OR REPLACE FUNCTION planning_account_revenue_years() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL) AS r WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL) THEN
        PERFORM 1 FROM revenue_window_anchor WHERE id = 1 FOR SHARE;
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
        WITH delta AS (
            SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int AS year,
                   sum(amount) AS d
            FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL) AS x
            WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
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
            SELECT account_id, year, 1 AS sign,
               (coalesce(new_prev, 0) > 0)::int AS customers,
               (coalesce(new_prev, 0) > 0 AND NOT coalesce(new_cur, 0) > 0)::int AS churned,
               CASE WHEN new_prev > 0 THEN new_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN new_prev > 0 AND NOT coalesce(new_cur, 0) > 0 THEN new_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
            UNION ALL
            SELECT account_id, year, -1,
               (coalesce(old_prev, 0) > 0)::int AS customers,
               (coalesce(old_prev, 0) > 0 AND NOT coalesce(old_cur, 0) > 0)::int AS churned,
               CASE WHEN old_prev > 0 THEN old_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN old_prev > 0 AND NOT coalesce(old_cur, 0) > 0 THEN old_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
        )
        INSERT INTO churn_years AS t
            (year, shard, customers, churned, revenue_at_start, revenue_lost)
        SELECT year, account_id % 16, sum(sign * customers), sum(sign * churned),
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
            revenue_lost = t.revenue_lost + EXCLUDED.revenue_lost;
        INSERT INTO account_revenue_window AS t (account_id, cents)
        SELECT x.account_id, sum((x.amount * 100)::bigint)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL) AS x, revenue_window_anchor a
        WHERE a.id = 1 AND x.occurred_at >= a.since AND kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1
        HAVING sum((x.amount * 100)::bigint) <> 0
        ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET cents = t.cents + EXCLUDED.cents;
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF EXISTS (SELECT 1 FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL UNION ALL SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS r WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL) THEN
        PERFORM 1 FROM revenue_window_anchor WHERE id = 1 FOR SHARE;
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL UNION ALL SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
        WITH delta AS (
            SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int AS year,
                   sum(amount) AS d
            FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL UNION ALL SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS x
            WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
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
            SELECT account_id, year, 1 AS sign,
               (coalesce(new_prev, 0) > 0)::int AS customers,
               (coalesce(new_prev, 0) > 0 AND NOT coalesce(new_cur, 0) > 0)::int AS churned,
               CASE WHEN new_prev > 0 THEN new_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN new_prev > 0 AND NOT coalesce(new_cur, 0) > 0 THEN new_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
            UNION ALL
            SELECT account_id, year, -1,
               (coalesce(old_prev, 0) > 0)::int AS customers,
               (coalesce(old_prev, 0) > 0 AND NOT coalesce(old_cur, 0) > 0)::int AS churned,
               CASE WHEN old_prev > 0 THEN old_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN old_prev > 0 AND NOT coalesce(old_cur, 0) > 0 THEN old_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
        )
        INSERT INTO churn_years AS t
            (year, shard, customers, churned, revenue_at_start, revenue_lost)
        SELECT year, account_id % 16, sum(sign * customers), sum(sign * churned),
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
            revenue_lost = t.revenue_lost + EXCLUDED.revenue_lost;
        INSERT INTO account_revenue_window AS t (account_id, cents)
        SELECT x.account_id, sum((x.amount * 100)::bigint)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL UNION ALL SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS x, revenue_window_anchor a
        WHERE a.id = 1 AND x.occurred_at >= a.since AND kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1
        HAVING sum((x.amount * 100)::bigint) <> 0
        ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET cents = t.cents + EXCLUDED.cents;
        END IF;
    ELSE
        IF EXISTS (SELECT 1 FROM (SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS r WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL) THEN
        PERFORM 1 FROM revenue_window_anchor WHERE id = 1 FOR SHARE;
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
        WITH delta AS (
            SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int AS year,
                   sum(amount) AS d
            FROM (SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS x
            WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
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
            SELECT account_id, year, 1 AS sign,
               (coalesce(new_prev, 0) > 0)::int AS customers,
               (coalesce(new_prev, 0) > 0 AND NOT coalesce(new_cur, 0) > 0)::int AS churned,
               CASE WHEN new_prev > 0 THEN new_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN new_prev > 0 AND NOT coalesce(new_cur, 0) > 0 THEN new_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
            UNION ALL
            SELECT account_id, year, -1,
               (coalesce(old_prev, 0) > 0)::int AS customers,
               (coalesce(old_prev, 0) > 0 AND NOT coalesce(old_cur, 0) > 0)::int AS churned,
               CASE WHEN old_prev > 0 THEN old_prev ELSE 0 END AS revenue_at_start,
               CASE WHEN old_prev > 0 AND NOT coalesce(old_cur, 0) > 0 THEN old_prev ELSE 0 END
                   AS revenue_lost
            FROM revenue
        )
        INSERT INTO churn_years AS t
            (year, shard, customers, churned, revenue_at_start, revenue_lost)
        SELECT year, account_id % 16, sum(sign * customers), sum(sign * churned),
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
            revenue_lost = t.revenue_lost + EXCLUDED.revenue_lost;
        INSERT INTO account_revenue_window AS t (account_id, cents)
        SELECT x.account_id, sum((x.amount * 100)::bigint)
        FROM (SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS x, revenue_window_anchor a
        WHERE a.id = 1 AND x.occurred_at >= a.since AND kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1
        HAVING sum((x.amount * 100)::bigint) <> 0
        ORDER BY 1
        ON CONFLICT (account_id) DO UPDATE SET cents = t.cents + EXCLUDED.cents;
        END IF;
    END IF;
    RETURN NULL;
END $$;
