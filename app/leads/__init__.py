"""Leads: duplicates, the status machine, conversion into an account, territory rules,
the lead source report.

Imports accounts (conversion), assignments, handoff, territories, models, kit and events.
"""
