"""Demo data for `accountflow seed-demo`: users, accounts with branches, a year of history.

Writes through the features' services like any caller; nothing in the domain imports it.
"""

from app.demo.seed import seed_demo

__all__ = ["seed_demo"]
