"""What every feature shares: the actor, keyset pages and cursors, input checks, SQL loading.

Imports models, db and errors only; never a feature.
"""
