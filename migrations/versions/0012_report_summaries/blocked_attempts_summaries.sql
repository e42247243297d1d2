
CREATE FUNCTION blocked_attempts_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, 1 AS sign
        FROM new_rows)
    INSERT INTO blocked_day_missing AS t (pipeline_id, day, requirement, attempts)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing) AS m(requirement)
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET attempts = t.attempts + EXCLUDED.attempts;
    ELSIF TG_OP = 'UPDATE' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, -1 AS sign
        FROM old_rows)
    INSERT INTO blocked_day_missing AS t (pipeline_id, day, requirement, attempts)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing) AS m(requirement)
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET attempts = t.attempts + EXCLUDED.attempts;
    ELSIF TG_OP = 'DELETE' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               missing, -1 AS sign
        FROM old_rows)
    INSERT INTO blocked_day_missing AS t (pipeline_id, day, requirement, attempts)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing) AS m(requirement)
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET attempts = t.attempts + EXCLUDED.attempts;
    ELSE
    DELETE FROM blocked_day_missing;
    END IF;
    RETURN NULL;
END $$;
