"""Leads from CSV, as createLead, updateLead and setLeadStatus write them: a status column
moves a lead only where the lead state machine allows, never to CONVERTED."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.imports.csvfile import Row
from app.imports.rows import CREATED, UNCHANGED, UPDATED, RowByRow
from app.imports.values import parse_country, parse_enum, parse_id, parse_json_object
from app.kit import changes
from app.kit.actor import Actor
from app.leads import service as leads
from app.models.accounts import AccountSource
from app.models.leads import Lead, LeadStatus

LEAD_TEXT = {
    "company": "company",
    "contact_name": "contactName",
    "email": "email",
    "phone": "phone",
    "industry": "industry",
    "street": "street",
    "city": "city",
    "region": "region",
    "postal_code": "postalCode",
    "country_code": "countryCode",
    "external_ref": "externalRef",
}


@dataclass(slots=True)
class LeadRow:
    id: int | None
    fields: dict[str, Any]
    status: LeadStatus | None
    status_reason: str | None


class LeadImporter(RowByRow):
    columns: tuple[str, ...] = (
        "id",
        "externalRef",
        "company",
        "contactName",
        "email",
        "phone",
        "industry",
        "street",
        "city",
        "region",
        "postalCode",
        "countryCode",
        "source",
        "status",
        "statusReason",
        "ownerId",
        "attributes",
    )
    required: frozenset[str] = frozenset({"company"})
    renames: ClassVar[Mapping[str, str]] = {"reason": "statusReason"}  # setLeadStatus' field

    def clean(self, row: Row) -> LeadRow:
        v = row.values
        # Only the file's columns are set: a column the file lacks is left as it is.
        fields: dict[str, Any] = {key: v[col] for key, col in LEAD_TEXT.items() if col in v}
        if "countryCode" in v:
            fields["country_code"] = parse_country(v["countryCode"])
        if "source" in v:
            fields["source"] = parse_enum(v["source"], AccountSource, "source")
        if "ownerId" in v:
            fields["owner_id"] = parse_id(v["ownerId"], "User", "ownerId")
        if "attributes" in v:
            fields["attributes"] = parse_json_object(v["attributes"], "attributes")
        status = parse_enum(v.get("status"), LeadStatus, "status")
        return LeadRow(
            parse_id(v.get("id"), "Lead", "id"),
            leads.clean_lead_fields(fields),
            status,
            v.get("statusReason"),
        )

    def key(self, data: LeadRow) -> Hashable | None:
        if data.id is not None:
            return ("id", data.id)
        ref = data.fields.get("external_ref")
        return None if ref is None else ("externalRef", ref)

    async def write_one(self, session: AsyncSession, actor: Actor, data: LeadRow) -> str:
        lead = await self._existing(session, data)
        if lead is None:
            lead = await leads.create_lead(session, actor=actor, **data.fields)
            if data.status not in (None, LeadStatus.NEW):
                await self._move(session, actor, lead, data)
            return CREATED
        changed = changes.diff({k: getattr(lead, k) for k in data.fields}, data.fields)
        moves = data.status is not None and (data.status, data.status_reason) != (
            lead.status,
            lead.status_reason,
        )
        if not changed and not moves:
            return UNCHANGED
        if changed:
            await leads.update_lead(session, actor=actor, lead_id=lead.id, **data.fields)
        if moves:
            await self._move(session, actor, lead, data)
        return UPDATED

    async def _move(self, session: AsyncSession, actor: Actor, lead: Lead, data: LeadRow) -> None:
        assert data.status is not None
        await leads.set_lead_status(
            session, actor=actor, lead_id=lead.id, status=data.status, reason=data.status_reason
        )

    async def _existing(self, session: AsyncSession, data: LeadRow) -> Lead | None:
        if data.id is not None:
            return await leads.get_lead_for_update(session, data.id)
        ref = data.fields.get("external_ref")
        if ref is None:
            return None
        query = select(Lead).where(Lead.external_ref == ref).with_for_update()
        found = await session.scalars(query.execution_options(populate_existing=True))
        return found.one_or_none()
