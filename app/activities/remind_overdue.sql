WITH overdue AS (
    UPDATE assignments SET overdue_notified_due = next_contact_due
    WHERE next_contact_due < :now
      AND overdue_notified_due IS DISTINCT FROM next_contact_due
    RETURNING id, account_id, user_id, manager_type, contact_frequency_days,
              last_contact_at, next_contact_due
)
INSERT INTO outbox (type, object_key, account_id, data)
SELECT 'cadence.overdue', 'Account:' || account_id, account_id, json_build_object(
    'id', encode(convert_to('Assignment:' || id, 'UTF8'), 'base64'),
    'accountId', encode(convert_to('Account:' || account_id, 'UTF8'), 'base64'),
    'userId', encode(convert_to('User:' || user_id, 'UTF8'), 'base64'),
    'managerType', manager_type, 'contactFrequencyDays', contact_frequency_days,
    'lastContactAt', last_contact_at, 'nextContactDue', next_contact_due)
FROM overdue ORDER BY id
