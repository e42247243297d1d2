"""Accounts and contacts: create, edit, archive, merge, tag, upsert, and the read model.

Imports models, kit, events and the services of activities, handoff, planning and
territories; only leads, imports, demo and web import it.
"""
