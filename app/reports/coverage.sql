-- Coverage of live accounts per group of assignments: cadence status now, the balance under
-- the default window and thresholds, and contact days in the last 365 UTC days.
-- A grouping column not asked for is NULL, so its values fall into one group.
-- The balance is the stored one when computed today (as app.activities.cadence reads it),
-- else computed now with the same SQL function the trigger uses.
WITH base AS (
    SELECT CASE WHEN :by_user THEN a.user_id END AS user_id,
           CASE WHEN :by_manager_type THEN a.manager_type END AS manager_type,
           CASE WHEN :by_classification THEN acc.classification END AS classification,
           a.next_contact_due AS due,
           CASE WHEN a.balance_as_of = today.d THEN a.balance_status
                ELSE cadence_balance(a.contact_days, a.started_at, a.contact_frequency_days,
                                     today.d, :window_days, :surplus_at, :deficit_at)
           END AS balance,
           width_bucket(today.d, a.contact_days)
               - width_bucket(today.d - :window_days, a.contact_days) AS contacts
    FROM assignments a
    JOIN accounts acc ON acc.id = a.account_id
    CROSS JOIN (SELECT CAST(timezone('UTC', now()) AS date) AS d) today
    WHERE acc.archived_at IS NULL
      AND (CAST(:manager_type AS varchar) IS NULL OR a.manager_type = :manager_type)
      AND (CAST(:classifications AS varchar[]) IS NULL
           OR acc.classification = ANY(CAST(:classifications AS varchar[])))
      AND (CAST(:user_id AS bigint) IS NULL OR a.user_id = :user_id)
)
SELECT user_id,
       manager_type,
       classification,
       count(*)::int AS assignments,
       count(*) FILTER (WHERE due > now() + make_interval(days => :due_soon_days))::int,
       count(*) FILTER (WHERE due >= now()
                          AND due <= now() + make_interval(days => :due_soon_days))::int,
       count(*) FILTER (WHERE due < now())::int AS overdue,
       count(*) FILTER (WHERE due < now())::float8 / count(*),
       count(*) FILTER (WHERE balance = 'SURPLUS')::int,
       count(*) FILTER (WHERE balance = 'BALANCED')::int,
       count(*) FILTER (WHERE balance = 'DEFICIT')::int,
       avg(contacts)::float8
FROM base
GROUP BY user_id, manager_type, classification
ORDER BY user_id NULLS LAST, manager_type NULLS LAST, classification NULLS LAST
