-- The territory (assignment rule) of each account that has none yet: :accounts[i] gets
-- :rules[i]. Returns the accounts set, with their rule.
UPDATE accounts SET territory_id = c.rule_id
FROM unnest(:accounts, :rules) AS c(account_id, rule_id)
WHERE accounts.id = c.account_id AND accounts.territory_id IS NULL
RETURNING accounts.id, accounts.territory_id
