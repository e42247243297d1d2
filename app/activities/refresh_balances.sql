UPDATE assignments SET contact_days = contact_days
WHERE balance_as_of IS DISTINCT FROM (now() AT TIME ZONE 'UTC')::date
