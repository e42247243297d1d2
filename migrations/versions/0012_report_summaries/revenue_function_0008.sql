
CREATE OR REPLACE FUNCTION planning_account_revenue_years() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, amount FROM new_rows WHERE voided_at IS NULL UNION ALL SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
    ELSE
        INSERT INTO account_revenue_years AS t (account_id, year, revenue)
        SELECT account_id, extract(year FROM occurred_at AT TIME ZONE 'UTC')::int, sum(amount)
        FROM (SELECT account_id, occurred_at, kind, -amount AS amount FROM old_rows WHERE voided_at IS NULL) AS d
        WHERE kind IN ('INVOICE', 'PARTS_PURCHASE', 'SERVICE_ORDER') AND amount IS NOT NULL
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (account_id, year) DO UPDATE SET revenue = t.revenue + EXCLUDED.revenue;
    END IF;
    RETURN NULL;
END $$;
