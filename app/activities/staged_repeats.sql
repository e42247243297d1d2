-- The stored row each staged row that was not inserted repeats (the caller's own key: one
-- row at most), and whether the payload is the same. One index lookup per such row: the
-- staged rows have no statistics, and a plain join on the key with the caller is
-- estimated to match almost nothing, which gave plans scanning the item list (or sorting
-- every activity) once per call.
SELECT s.item, a.id,
       (a.account_id, a.kind::text, a.occurred_at, a.user_id, a.contact_id, a.amount,
        a.summary)
       IS NOT DISTINCT FROM
       (s.account_id, s.kind, s.occurred_at, s.user_id, s.contact_id, s.amount, s.summary)
       AS same
FROM activity_staging s
CROSS JOIN LATERAL (
    SELECT * FROM activities a
    WHERE a.source = s.source AND a.external_id = s.external_id
      AND a.logged_by_id IS NOT DISTINCT FROM s.logged_by_id
    LIMIT 1
) a
WHERE s.item = ANY(CAST(:items AS int[]))
