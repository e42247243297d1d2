UPDATE assignments a
SET last_contact_at = s.last, contact_days = s.days
FROM (
    SELECT a.id, max(x.occurred_at) AS last,
           coalesce(array_agg(DISTINCT (x.occurred_at AT TIME ZONE 'UTC')::date)
                    FILTER (WHERE x.id IS NOT NULL), '{}') AS days
    FROM assignments a
    JOIN contact_rules r ON r.manager_type = a.manager_type
    LEFT JOIN activities x ON x.account_id = a.account_id AND x.voided_at IS NULL
         AND x.kind = ANY(r.kinds) AND (NOT r.assignee_only OR x.user_id = a.user_id)
    WHERE a.id = ANY(:ids)
    GROUP BY a.id
) s
WHERE a.id = s.id
