"""Activities and cadence: logging (one, a batch, NDJSON), voids, contact rules, balances.

Imports models, kit, events, audit and auth; the cadence upkeep it owns is called by
assignments, accounts and territories, never the other way round.
"""
