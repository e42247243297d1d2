"""Assignments of accounts to users per manager type, bulk reassignment, default frequencies.

Imports models, kit, events and activities (the cadence figures of a new assignment).
"""
