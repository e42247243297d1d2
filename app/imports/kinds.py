from __future__ import annotations

from app.imports.accounts import AccountImporter
from app.imports.activities import ActivityImporter
from app.imports.assignments import AssignmentImporter
from app.imports.base import Importer
from app.imports.contacts import ContactImporter
from app.imports.leads import LeadImporter
from app.models.imports import ImportKind

IMPORTERS: dict[ImportKind, Importer] = {
    ImportKind.ACCOUNTS: AccountImporter(),
    ImportKind.CONTACTS: ContactImporter(),
    ImportKind.LEADS: LeadImporter(),
    ImportKind.ACTIVITIES: ActivityImporter(),
    ImportKind.ASSIGNMENTS: AssignmentImporter(),
}


def importer_for(kind: ImportKind) -> Importer:
    return IMPORTERS[kind]
