"""What every feature shares: the actor, the one write path (`changes`: audit rows and events
together; `versioned`: the versioned update), keyset pages and cursors, input checks, SQL
loading.

Imports models, events and errors only; never a feature.
"""
