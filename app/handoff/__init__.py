"""Pipelines as data, the `transitions` machine per pipeline, moves, handoffs, stage reports.

Imports models, kit and events; reports read the per-day summaries the migration's
triggers keep.
"""
