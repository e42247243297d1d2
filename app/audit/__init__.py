"""The audit log: one row per change, with the actor, the request id and the diff.

Imports models only. Writing the log is app.kit.changes, with the change's events.
"""
