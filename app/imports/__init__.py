"""CSV import (CLI and uploaded jobs) and CSV export of accounts, contacts, leads, activities,
assignments: each row goes through the services of the feature it stands for.

Imports the services of accounts, activities, assignments and leads, models and kit.
"""
