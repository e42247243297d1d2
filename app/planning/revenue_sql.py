"""Rebuilding the revenue summaries that migration 0012's trigger on activities keeps.

Per statement on activities that touches revenue events, the trigger keeps the yearly sums
(account_revenue_years), churn_years from them, and account_revenue_window (window.py).
Churn year Y counts last year's customers (revenue in Y - 1 above zero) and which of them
bought nothing in Y; each churn year is spread over 16 shards (account_id % 16), so
concurrent writers rarely wait on one row. Bulk loads with the activities trigger off must
run REBUILD afterwards (after refilling account_revenue_years).
"""

from __future__ import annotations

from app.kit.sql import read_sql

# Every account's part in every churn year, from scratch: the rebuild's rows, and the
# tests' reference for what the trigger keeps.
RECOMPUTE = read_sql(__package__, "churn_years.sql")

REBUILD = [
    "DELETE FROM churn_years",
    "INSERT INTO churn_years (year, shard, customers, churned, revenue_at_start, revenue_lost)\n"
    + RECOMPUTE,
    "DELETE FROM account_revenue_window",
    read_sql(__package__, "revenue_window.sql"),
]
