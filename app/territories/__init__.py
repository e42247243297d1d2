"""Territory rules applied by smooth weighted round-robin when accounts arrive.

Imports models, kit, events and activities (cadence of the assignments it makes).
"""
