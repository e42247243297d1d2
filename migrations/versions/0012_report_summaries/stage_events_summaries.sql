
CREATE FUNCTION stage_events_summaries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows)
    INSERT INTO stage_day_pairs AS t
        (pipeline_id, day, from_stage, to_stage, shard, events, touches)
    SELECT pipeline_id, day, coalesce(from_stage, ''), to_stage, (pg_backend_pid() % 8),
           sum(sign), sum(sign * coalesce(touches, 0))
    FROM d
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * coalesce(touches, 0)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
    SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows)
    INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
    SELECT pipeline_id, day, from_stage, report_bucket(seconds), (pg_backend_pid() % 8), sum(sign)
    FROM d
    WHERE from_stage IS NOT NULL AND seconds IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
    SET stays = t.stays + EXCLUDED.stays;
    IF EXISTS (SELECT 1 FROM new_rows WHERE is_handoff) THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows)
    INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
    SELECT pipeline_id, day, (pg_backend_pid() % 8), sum(sign),
           coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0)
    FROM d
    WHERE is_handoff
    GROUP BY 1, 2
    HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0) <> 0
    ORDER BY 1, 2
    ON CONFLICT (pipeline_id, day, shard) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows)
    INSERT INTO handoff_day_waits AS t (pipeline_id, day, bucket, accepted)
    SELECT pipeline_id, day, report_bucket(wait), sum(sign)
    FROM d
    WHERE is_handoff AND wait IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, bucket) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows)
    INSERT INTO handoff_day_missing AS t (pipeline_id, day, requirement, handoffs)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing_recommended) AS m(requirement)
    WHERE d.is_handoff
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs;
    END IF;
    ELSIF TG_OP = 'UPDATE' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO stage_day_pairs AS t
        (pipeline_id, day, from_stage, to_stage, shard, events, touches)
    SELECT pipeline_id, day, coalesce(from_stage, ''), to_stage, (pg_backend_pid() % 8),
           sum(sign), sum(sign * coalesce(touches, 0))
    FROM d
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * coalesce(touches, 0)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
    SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
    SELECT pipeline_id, day, from_stage, report_bucket(seconds), (pg_backend_pid() % 8), sum(sign)
    FROM d
    WHERE from_stage IS NOT NULL AND seconds IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
    SET stays = t.stays + EXCLUDED.stays;
    IF EXISTS (SELECT 1 FROM new_rows WHERE is_handoff) OR EXISTS (SELECT 1 FROM old_rows WHERE is_handoff) THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
    SELECT pipeline_id, day, (pg_backend_pid() % 8), sum(sign),
           coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0)
    FROM d
    WHERE is_handoff
    GROUP BY 1, 2
    HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0) <> 0
    ORDER BY 1, 2
    ON CONFLICT (pipeline_id, day, shard) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_day_waits AS t (pipeline_id, day, bucket, accepted)
    SELECT pipeline_id, day, report_bucket(wait), sum(sign)
    FROM d
    WHERE is_handoff AND wait IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, bucket) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, 1 AS sign
        FROM new_rows
        UNION ALL
        SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_day_missing AS t (pipeline_id, day, requirement, handoffs)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing_recommended) AS m(requirement)
    WHERE d.is_handoff
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs;
    END IF;
    ELSIF TG_OP = 'DELETE' THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO stage_day_pairs AS t
        (pipeline_id, day, from_stage, to_stage, shard, events, touches)
    SELECT pipeline_id, day, coalesce(from_stage, ''), to_stage, (pg_backend_pid() % 8),
           sum(sign), sum(sign * coalesce(touches, 0))
    FROM d
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0 OR sum(sign * coalesce(touches, 0)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, to_stage, shard) DO UPDATE
    SET events = t.events + EXCLUDED.events, touches = t.touches + EXCLUDED.touches;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO stage_day_stays AS t (pipeline_id, day, from_stage, bucket, shard, stays)
    SELECT pipeline_id, day, from_stage, report_bucket(seconds), (pg_backend_pid() % 8), sum(sign)
    FROM d
    WHERE from_stage IS NOT NULL AND seconds IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (pipeline_id, day, from_stage, bucket, shard) DO UPDATE
    SET stays = t.stays + EXCLUDED.stays;
    IF EXISTS (SELECT 1 FROM old_rows WHERE is_handoff) THEN
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_days AS t (pipeline_id, day, shard, handoffs, accepted)
    SELECT pipeline_id, day, (pg_backend_pid() % 8), sum(sign),
           coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0)
    FROM d
    WHERE is_handoff
    GROUP BY 1, 2
    HAVING sum(sign) <> 0 OR coalesce(sum(sign) FILTER (WHERE wait IS NOT NULL), 0) <> 0
    ORDER BY 1, 2
    ON CONFLICT (pipeline_id, day, shard) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs, accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_day_waits AS t (pipeline_id, day, bucket, accepted)
    SELECT pipeline_id, day, report_bucket(wait), sum(sign)
    FROM d
    WHERE is_handoff AND wait IS NOT NULL
    GROUP BY 1, 2, 3
    HAVING sum(sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, bucket) DO UPDATE
    SET accepted = t.accepted + EXCLUDED.accepted;
    WITH d AS (SELECT pipeline_id, (occurred_at AT TIME ZONE 'UTC')::date AS day,
               from_stage, to_stage, seconds_in_previous_stage AS seconds,
               touches_in_previous_stage AS touches, is_handoff,
               extract(epoch FROM accepted_at - occurred_at)::float8 AS wait,
               missing_recommended, -1 AS sign
        FROM old_rows)
    INSERT INTO handoff_day_missing AS t (pipeline_id, day, requirement, handoffs)
    SELECT d.pipeline_id, d.day, m.requirement, sum(d.sign)
    FROM d CROSS JOIN LATERAL unnest(d.missing_recommended) AS m(requirement)
    WHERE d.is_handoff
    GROUP BY 1, 2, 3
    HAVING sum(d.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (pipeline_id, day, requirement) DO UPDATE
    SET handoffs = t.handoffs + EXCLUDED.handoffs;
    END IF;
    ELSE
    DELETE FROM stage_day_pairs;
    DELETE FROM stage_day_stays;
    DELETE FROM handoff_days;
    DELETE FROM handoff_day_waits;
    DELETE FROM handoff_day_missing;
    END IF;
    RETURN NULL;
END $$;
