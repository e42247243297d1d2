"""Managers' reports: coverage, stage flow, stuck entries, activity mix; the summaries' upkeep.

Each report is a .sql file beside the module that runs it. Imports models, kit, activities,
handoff and planning (their figures).
"""
