-- Activities per kind over [start, end): events, distinct accounts, share of all events.
-- Per kind and account first: one hash aggregate instead of a sort per count(DISTINCT).
WITH per_account AS (
    SELECT kind, account_id, count(*) AS n
    FROM activities
    WHERE occurred_at >= :start AND occurred_at < :end
      AND voided_at IS NULL  -- voided events are not counted
      AND (CAST(:team_id AS bigint) IS NULL  -- a team: the activities its members logged
           OR user_id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = :team_id))
    GROUP BY kind, account_id
)
SELECT kind,
       sum(n)::int AS events,
       count(account_id)::int,  -- a lead's activities (no account yet) are no account
       sum(n)::float8 / sum(sum(n)) OVER ()
FROM per_account
GROUP BY kind
ORDER BY events DESC, kind
