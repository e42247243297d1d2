-- Every account's part in each churn year from scratch, per (year, shard): churn year Y
-- counts last year's customers (revenue in Y - 1 above zero) and which of them bought
-- nothing in Y. The rows churn_years holds (migration 0012's revenue trigger keeps them).
SELECT p.year + 1, p.account_id % 16, count(*),
       count(*) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), sum(p.revenue),
       coalesce(sum(p.revenue) FILTER (WHERE NOT coalesce(c.revenue, 0) > 0), 0)
FROM account_revenue_years p
LEFT JOIN account_revenue_years c ON c.account_id = p.account_id AND c.year = p.year + 1
WHERE p.revenue > 0
GROUP BY 1, 2
