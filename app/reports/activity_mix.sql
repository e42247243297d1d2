-- Activities per kind over [start, end): events, distinct accounts, share of all events.
SELECT kind,
       count(*)::int AS events,
       count(DISTINCT account_id)::int,
       count(*)::float8 / sum(count(*)) OVER ()
FROM activities
WHERE occurred_at >= :start AND occurred_at < :end
  AND TRUE  -- voided events: becomes "AND voided_at IS NULL" once activities.voided_at exists
GROUP BY kind
ORDER BY events DESC, kind
