"""Accounts and contacts: create, edit, archive, merge, tag, upsert, and the read model.

Imports models, kit, events and the services of activities, assignments, audit, handoff,
planning and territories; nothing imports back except the features above it (leads, imports).
"""
