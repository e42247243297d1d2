-- One user's figures as of :now. Assignments on archived accounts are left out; a contact is
-- a non-voided activity attributed to the user, of any kind but NOTE (the default rule).
WITH mine AS (
    SELECT a.account_id, a.next_contact_due
    FROM assignments a JOIN accounts ac ON ac.id = a.account_id
    WHERE a.user_id = :user_id AND ac.archived_at IS NULL
)
SELECT
    (SELECT count(DISTINCT account_id) FROM mine) AS assigned_accounts,
    (SELECT count(*) FROM mine WHERE next_contact_due < :now) AS overdue,
    (SELECT count(*) FROM mine
        WHERE next_contact_due >= :now
          AND next_contact_due < :now + make_interval(days => :due_soon_days)) AS due_soon,
    (SELECT count(*) FROM activities
        WHERE user_id = :user_id AND voided_at IS NULL AND kind <> 'NOTE'
          AND occurred_at > :now - interval '30 days' AND occurred_at <= :now
    ) AS contacts_last_30_days,
    (SELECT count(*) FROM mine
        WHERE next_contact_due >= :now
          AND next_contact_due < :now + interval '30 days') AS contacts_due_next_30_days,
    (SELECT count(*) FROM tasks WHERE owner_id = :user_id AND status = 'OPEN') AS open_tasks,
    (SELECT count(*) FROM tasks
        WHERE owner_id = :user_id AND status = 'OPEN' AND due_at < :now) AS overdue_tasks
