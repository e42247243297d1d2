-- Per period (UTC, truncated to :unit) and stage over [start, end): entries, exits and the
-- median stay of the exits. Every period of the range is present, with zeros when empty;
-- the first and last periods count only the part inside the range.
WITH stages AS (
    SELECT key, ord
    FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS s(key, ord)
),
periods AS (
    SELECT p AS period
    FROM generate_series(
        date_trunc(:unit, timezone('UTC', CAST(:start AS timestamptz))),
        timezone('UTC', CAST(:end AS timestamptz)) - interval '1 microsecond',
        CAST(CAST(:step AS text) AS interval)
    ) AS p
),
events AS (
    SELECT date_trunc(:unit, timezone('UTC', occurred_at)) AS period,
           from_stage, to_stage, seconds_in_previous_stage
    FROM stage_events
    WHERE pipeline_id = :pipeline_id AND occurred_at >= :start AND occurred_at < :end
),
entered AS (
    SELECT period, to_stage AS stage, count(*) AS n FROM events GROUP BY 1, 2
),
exited AS (
    SELECT period, from_stage AS stage, count(*) AS n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds_in_previous_stage) AS median
    FROM events WHERE from_stage IS NOT NULL GROUP BY 1, 2
)
SELECT timezone('UTC', p.period), s.key, coalesce(en.n, 0)::int, coalesce(ex.n, 0)::int, ex.median
FROM periods p
CROSS JOIN stages s
LEFT JOIN entered en ON en.period = p.period AND en.stage = s.key
LEFT JOIN exited ex ON ex.period = p.period AND ex.stage = s.key
ORDER BY p.period, s.ord
