-- logActivities: store a batch of activities, announce each new one, and fold its contacts
-- into the assignments, in one statement. The rows travel as one JSON text (orjson writes
-- them; PostgreSQL parses them in C): much cheaper than encoding nine arrays of 1,000
-- values in Python. In key order, so that two batches sharing keys wait for each other
-- instead of deadlocking; of in-batch repeats of a key the first item is stored. A key is
-- the caller's own: (source, external_id) per logged_by_id (migration idempotency_by_caller).
-- The CTEs after new_activities are merge_staged.sql's, word for word (a test checks).
WITH new_activities AS (
    INSERT INTO activities (account_id, kind, occurred_at, user_id, contact_id, amount,
                            summary, source, external_id, logged_by_id)
    SELECT account_id, kind, occurred_at, user_id, contact_id, amount,
           summary, source, external_id, logged_by_id
    FROM json_to_recordset(CAST(:rows AS json))
         AS x(account_id bigint, kind varchar, occurred_at timestamptz, user_id bigint,
              contact_id bigint, amount numeric(14, 2), summary text, source varchar,
              external_id varchar, logged_by_id bigint, "index" int)
    ORDER BY source, external_id, "index"
    ON CONFLICT (source, external_id, logged_by_id) WHERE external_id IS NOT NULL
    DO NOTHING
    RETURNING id, account_id, kind, user_id, occurred_at, source, external_id, summary, amount
),
-- An activity.logged event per new activity, its ids as app.events.global_id writes them.
activity_events AS (
    INSERT INTO outbox (type, object_key, account_id, data)
    SELECT 'activity.logged', 'Account:' || account_id, account_id, jsonb_build_object(
        'id', encode(convert_to('Activity:' || id, 'UTF8'), 'base64'),
        'accountId', encode(convert_to('Account:' || account_id, 'UTF8'), 'base64'),
        'kind', kind, 'occurredAt', occurred_at,
        'userId', encode(convert_to('User:' || user_id, 'UTF8'), 'base64'),
        'summary', summary, 'amount', amount::text, 'source', source,
        'externalId', external_id)
    FROM new_activities ORDER BY id
),
-- The contacts of the new activities per assignment: latest time and distinct UTC days,
-- sorted. OFFSET 0 keeps the per-event index lookup (a hash join would read every
-- assignment).
contact_hits AS MATERIALIZED (
    SELECT a.id, max(x.occurred_at) AS last,
           array_agg(DISTINCT (x.occurred_at AT TIME ZONE 'UTC')::date
                     ORDER BY (x.occurred_at AT TIME ZONE 'UTC')::date) AS days
    FROM new_activities x
    CROSS JOIN LATERAL (
        SELECT id, manager_type, user_id FROM assignments WHERE account_id = x.account_id
        OFFSET 0
    ) a
    JOIN contact_rules r ON r.manager_type = a.manager_type
    WHERE x.kind = ANY(r.kinds) AND (NOT r.assignee_only OR x.user_id = a.user_id)
    GROUP BY a.id
),
-- Only rows that change are locked and written (a known day or an older event is a
-- no-op), in id order, so concurrent batches never deadlock. The lock returns the newest
-- version of a row updated meanwhile (not a snapshot), so the new values merge into it, not
-- over it. contact_days stays sorted and distinct: unchanged when it holds every new day
-- already, appended when every new day is later than its last one, else merged with a sort.
contact_locks AS MATERIALIZED (
    SELECT a.id, greatest(a.last_contact_at, h.last) AS last,
           CASE
               WHEN h.days <@ a.contact_days THEN a.contact_days
               WHEN h.days[1] > coalesce(a.contact_days[array_upper(a.contact_days, 1)],
                                         '-infinity'::date)
                   THEN a.contact_days || h.days
               ELSE ARRAY(SELECT DISTINCT d FROM unnest(a.contact_days || h.days) d ORDER BY d)
           END AS days
    FROM assignments a JOIN contact_hits h ON h.id = a.id
    WHERE a.last_contact_at IS NULL OR h.last > a.last_contact_at
       OR NOT h.days <@ a.contact_days
    ORDER BY a.id FOR UPDATE OF a
),
-- The derived columns too, as the assignments_cadence trigger computes them (migration
-- 0002), for every row in one pass: the trigger then has nothing to change and its WHEN
-- (migration 0025) skips it.
contacts_applied AS (
    UPDATE assignments a
    SET last_contact_at = h.last,
        contact_days = h.days,
        next_contact_due = coalesce(h.last, a.started_at)
                           + make_interval(hours => 24 * a.contact_frequency_days),
        balance_status = cadence_balance(h.days, a.started_at, a.contact_frequency_days,
                                         (now() AT TIME ZONE 'UTC')::date, 365, 1.5, 0.5),
        balance_as_of = (now() AT TIME ZONE 'UTC')::date
    FROM contact_locks h
    WHERE a.id = h.id
)
SELECT id, source, external_id FROM new_activities
