SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
       set_config('work_mem', '64MB', true), set_config('random_page_cost', '1.1', true),
       set_config('max_parallel_workers_per_gather', '0', true),
       -- The longer limit for reports (ACCOUNTFLOW_REPORT_STATEMENT_TIMEOUT_MS, set per
       -- connection).
       set_config('statement_timeout', coalesce(
           current_setting('accountflow.report_statement_timeout', true),
           current_setting('statement_timeout')), true)
