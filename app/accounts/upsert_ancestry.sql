WITH RECURSIVE up AS (
    SELECT id, parent_id, external_ref FROM accounts WHERE external_ref = ANY(:refs)
    UNION
    SELECT a.id, a.parent_id, a.external_ref FROM accounts a JOIN up ON a.id = up.parent_id
)
SELECT id, parent_id, external_ref FROM up
