-- Per assignment, the counting kind with the most activities on its account (the latest
-- activity, then the kind's name, breaks a tie), counted as recompute_assignments.sql does.
SELECT DISTINCT ON (a.id) a.id, x.kind
FROM assignments a
JOIN contact_rules r ON r.manager_type = a.manager_type
JOIN activities x ON x.account_id = a.account_id AND x.voided_at IS NULL
     AND x.kind = ANY(r.kinds) AND (NOT r.assignee_only OR x.user_id = a.user_id)
WHERE a.id = ANY(:ids)
GROUP BY a.id, x.kind
ORDER BY a.id, count(*) DESC, max(x.occurred_at) DESC, x.kind
