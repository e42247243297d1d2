WITH due AS (
    SELECT id FROM assignments
    WHERE next_contact_due < :now
      AND overdue_notified_due IS DISTINCT FROM next_contact_due
    ORDER BY id
    FOR UPDATE SKIP LOCKED
), overdue AS (
    UPDATE assignments a SET overdue_notified_due = a.next_contact_due
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.account_id, a.user_id, a.manager_type, a.contact_frequency_days,
              a.last_contact_at, a.next_contact_due
)
INSERT INTO outbox (type, object_key, account_id, data)
SELECT 'cadence.overdue', 'Account:' || account_id, account_id, json_build_object(
    'id', encode(convert_to('Assignment:' || id, 'UTF8'), 'base64'),
    'accountId', encode(convert_to('Account:' || account_id, 'UTF8'), 'base64'),
    'userId', encode(convert_to('User:' || user_id, 'UTF8'), 'base64'),
    'managerType', manager_type, 'contactFrequencyDays', contact_frequency_days,
    'lastContactAt', last_contact_at, 'nextContactDue', next_contact_due)
FROM overdue ORDER BY id
