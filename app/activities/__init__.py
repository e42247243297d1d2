"""Activities and cadence: logging (one, a batch, NDJSON), voids, contact rules, balances.

Imports models, kit, events and auth (a REP's held accounts); assignments, accounts,
territories and the importers call its cadence upkeep, never the other way round.
"""
