-- Coverage of live accounts per group of assignments: cadence status now, the balance under
-- the default window and thresholds, and contact days in the last 365 UTC days.
-- A grouping column not asked for is NULL, so its values fall into one group; accounts no
-- territory assigned fall into the NULL territory. A team is its members' assignments.
-- The balance is the stored one when computed today (as app.activities.cadence reads it),
-- else computed now with the same SQL function the trigger uses.
WITH base AS (
    SELECT CASE WHEN :by_user THEN a.user_id END AS user_id,
           CASE WHEN :by_manager_type THEN a.manager_type END AS manager_type,
           CASE WHEN :by_classification THEN acc.classification END AS classification,
           CASE WHEN :by_territory THEN acc.territory_id END AS territory_id,
           CASE WHEN a.next_contact_due < t.now THEN 'OVERDUE'
                WHEN a.next_contact_due <= t.soon THEN 'DUE_SOON'
                ELSE 'ON_TRACK'
           END AS status,
           CASE WHEN a.balance_as_of = t.today THEN a.balance_status
                ELSE cadence_balance(a.contact_days, a.started_at, a.contact_frequency_days,
                                     t.today, :window_days, :surplus_at, :deficit_at)
           END AS balance,
           width_bucket(t.today, a.contact_days)
               - width_bucket(t.today - :window_days, a.contact_days) AS contacts
    FROM assignments a
    JOIN accounts acc ON acc.id = a.account_id
    CROSS JOIN (
        SELECT now() AS now, now() + make_interval(days => :due_soon_days) AS soon,
               CAST(timezone('UTC', now()) AS date) AS today
    ) t
    WHERE acc.archived_at IS NULL
      AND (CAST(:manager_type AS varchar) IS NULL OR a.manager_type = :manager_type)
      AND (CAST(:classifications AS varchar[]) IS NULL
           OR acc.classification = ANY(CAST(:classifications AS varchar[])))
      AND (CAST(:user_id AS bigint) IS NULL OR a.user_id = :user_id)
      AND (CAST(:team_id AS bigint) IS NULL
           OR a.user_id IN (SELECT m.user_id FROM team_members m WHERE m.team_id = :team_id))
)
SELECT user_id,
       manager_type,
       classification,
       count(*)::int AS assignments,
       count(*) FILTER (WHERE status = 'ON_TRACK')::int,
       count(*) FILTER (WHERE status = 'DUE_SOON')::int,
       count(*) FILTER (WHERE status = 'OVERDUE')::int,
       count(*) FILTER (WHERE status = 'OVERDUE')::float8 / count(*),
       count(*) FILTER (WHERE balance = 'SURPLUS')::int,
       count(*) FILTER (WHERE balance = 'BALANCED')::int,
       count(*) FILTER (WHERE balance = 'DEFICIT')::int,
       sum(contacts)::float8 / count(*),
       territory_id
FROM base
GROUP BY user_id, manager_type, classification, territory_id
ORDER BY user_id NULLS LAST, manager_type NULLS LAST, classification NULLS LAST,
         territory_id NULLS LAST
