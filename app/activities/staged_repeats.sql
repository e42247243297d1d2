SELECT s.item, a.id,
       (a.account_id, a.kind::text, a.occurred_at, a.user_id, a.contact_id, a.amount,
        a.summary)
       IS NOT DISTINCT FROM
       (s.account_id, s.kind, s.occurred_at, s.user_id, s.contact_id, s.amount, s.summary)
       AS same
FROM activity_staging s
JOIN unnest(CAST(:items AS int[])) AS m(item) ON m.item = s.item
JOIN activities a ON a.source = s.source AND a.external_id = s.external_id
                 AND a.logged_by_id IS NOT DISTINCT FROM s.logged_by_id
