# Benchmarks drive one token as fast as the server goes: the per-token cost budget
# (ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE) is off for the servers they start, unless set.
NO_BUDGET = {"ACCOUNTFLOW_RATE_LIMIT_COST_PER_MINUTE": "0"}
