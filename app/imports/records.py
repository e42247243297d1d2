"""The importers of contacts, leads, activities and assignments, under their old address
(the CSV export reads their columns from here)."""

from __future__ import annotations

from app.imports.activities import ActivityImporter
from app.imports.assignments import AssignmentImporter
from app.imports.contacts import ContactImporter
from app.imports.leads import LeadImporter

__all__ = ["ActivityImporter", "AssignmentImporter", "ContactImporter", "LeadImporter"]
