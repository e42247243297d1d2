"""Leads: duplicates, the status machine, conversion into an account, territory rules,
the lead source report.

Imports accounts (conversion), territories, assignments, activities, audit, models and kit.
"""
