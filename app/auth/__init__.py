"""Users, API tokens (random, stored hashed, cached one second) and a REP's row scope.

Imports models and kit.
"""
