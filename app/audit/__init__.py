"""The audit log: one row per change, with the actor, the request id and the diff.

Imports models and kit only: every feature writes through it.
"""
