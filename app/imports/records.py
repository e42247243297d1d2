"""Contacts, leads, activities and assignments from CSV, through the API's own services."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.activities import cadence
from app.activities.ingest import ActivityInput, log_activities
from app.assignments import service as assignments
from app.audit import service as audit
from app.errors import AppError, InvalidInputError, NotFoundError
from app.imports.base import BatchResult, Item, row_errors
from app.imports.csvfile import Row, RowError
from app.imports.values import (
    CellError,
    parse_datetime,
    parse_decimal,
    parse_enum,
    parse_id,
    parse_int,
    parse_json_object,
)
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.leads import service as leads
from app.models.accounts import Account, AccountSource, BuyingRole, Contact
from app.models.activities import Activity, ActivityKind
from app.models.assignments import Assignment, ManagerType
from app.models.leads import Lead, LeadStatus


async def account_of(session: AsyncSession, values: dict[str, Any]) -> int:
    """The account a row names by `accountId` or else `accountExternalRef`."""
    if values["account_id"] is not None:
        if await session.get(Account, values["account_id"]) is None:
            raise NotFoundError("Unknown account.", field="accountId")
        return int(values["account_id"])
    ref = values["account_external_ref"]
    if ref is None:
        raise InvalidInputError(
            "Name the account by accountId or accountExternalRef.", field="accountId"
        )
    found = await session.scalar(select(Account.id).where(Account.external_ref == ref))
    if found is None:
        raise NotFoundError(f"No account has externalRef {ref!r}.", field="accountExternalRef")
    return int(found)


def _account_columns(values: dict[str, str | None]) -> dict[str, Any]:
    return {
        "account_id": parse_id(values.get("accountId"), "Account", "accountId"),
        "account_external_ref": values.get("accountExternalRef"),
    }


class _RowByRow:
    """Writes each row through the services; a failing row is reported, the others kept."""

    columns: tuple[str, ...] = ()

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        result = BatchResult()
        for item in items:
            try:
                async with session.begin_nested():
                    outcome = await self.write_one(session, actor, item.data)
            except AppError as error:
                result.errors.extend(row_errors(item.row, error, self.columns))
                continue
            result.created += outcome == "created"
            result.updated += outcome == "updated"
            result.unchanged += outcome == "unchanged"
        return result

    async def write_one(self, session: AsyncSession, actor: Actor, data: Any) -> str:
        raise NotImplementedError


def _column(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


# --- contacts --------------------------------------------------------------------------


class ContactImporter(_RowByRow):
    columns: tuple[str, ...] = (
        "id",
        "accountId",
        "accountExternalRef",
        "name",
        "title",
        "email",
        "phone",
        "buyingRole",
    )
    required: frozenset[str] = frozenset({"name"})

    def clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        checks = Checks()
        fields = {
            "name": checks.text("name", v.get("name"), max_length=200, required=True),
            "title": checks.text("title", v.get("title"), max_length=200),
            "email": checks.email("email", v.get("email")),
            "phone": checks.text("phone", v.get("phone"), max_length=50),
            "buying_role": parse_enum(v.get("buyingRole"), BuyingRole, "buyingRole"),
        }
        checks.raise_if_any()
        present = {"name", "title", "email", "phone", "buyingRole"} & set(v)
        return {
            "id": parse_id(v.get("id"), "Contact", "id"),
            **_account_columns(v),
            # Only the file's columns change a stored contact.
            "fields": {k: x for k, x in fields.items() if _column(k) in present},
            "all": fields,
        }

    def key(self, data: dict[str, Any]) -> Hashable | None:
        return None if data["id"] is None else ("id", data["id"])

    async def write_one(self, session: AsyncSession, actor: Actor, data: dict[str, Any]) -> str:
        if data["id"] is None:
            account_id = await account_of(session, data)
            await accounts.add_contact(session, actor=actor, account_id=account_id, **data["all"])
            return "created"
        fields = dict(data["fields"])
        contact = await session.get(Contact, data["id"], with_for_update=True)
        if contact is None:
            raise NotFoundError("Unknown contact.", field="id")
        if data["account_id"] is not None or data["account_external_ref"] is not None:
            fields["account_id"] = await account_of(session, data)
        delta = audit.diff({k: getattr(contact, k) for k in fields}, fields)
        if not delta:
            return "unchanged"
        for key, value in fields.items():
            setattr(contact, key, value)
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="contact.import.update",
            entity_type="Contact",
            entity_id=contact.id,
            changes=delta,
        )
        return "updated"


# --- leads -----------------------------------------------------------------------------

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


class LeadImporter(_RowByRow):
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

    def clean(self, row: Row) -> LeadRow:
        v = row.values
        # Only the file's columns are set: a column the file lacks is left as it is.
        fields: dict[str, Any] = {key: v[col] for key, col in LEAD_TEXT.items() if col in v}
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
            if data.status is LeadStatus.CONVERTED:
                raise InvalidInputError("A lead is converted by convertLead.", field="status")
            lead = await leads.create_lead(session, actor=actor, **data.fields)
            if data.status not in (None, LeadStatus.NEW):
                lead.status, lead.status_reason = data.status, data.status_reason
                await session.flush()
            return "created"
        wanted = {**data.fields}
        if data.status is not None:
            wanted |= {"status": data.status, "status_reason": data.status_reason}
        delta = audit.diff({k: getattr(lead, k) for k in wanted}, wanted)
        if not delta:
            return "unchanged"
        if lead.status is LeadStatus.CONVERTED or data.status is LeadStatus.CONVERTED:
            raise InvalidInputError("A converted lead does not change.", field="status")
        for key, value in wanted.items():
            setattr(lead, key, value)
        lead.version += 1
        lead.updated_at = func.now()
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="lead.import.update",
            entity_type="Lead",
            entity_id=lead.id,
            changes=delta,
        )
        return "updated"

    async def _existing(self, session: AsyncSession, data: LeadRow) -> Lead | None:
        if data.id is not None:
            lead = await session.get(Lead, data.id, with_for_update=True)
            if lead is None:
                raise NotFoundError("Unknown lead.", field="id")
            return lead
        ref = data.fields.get("external_ref")
        if ref is None:
            return None
        query = select(Lead).where(Lead.external_ref == ref).with_for_update()
        return (await session.scalars(query)).one_or_none()


# --- activities ------------------------------------------------------------------------


class ActivityImporter:
    columns: tuple[str, ...] = (
        "id",
        "accountId",
        "accountExternalRef",
        "kind",
        "occurredAt",
        "userId",
        "contactId",
        "amount",
        "summary",
        "source",
        "externalId",
    )
    required: frozenset[str] = frozenset({"kind", "occurredAt"})

    def clean(self, row: Row) -> tuple[int | None, ActivityInput]:
        v = row.values
        kind = parse_enum(v.get("kind"), ActivityKind, "kind")
        occurred_at = parse_datetime(v.get("occurredAt"), "occurredAt")
        if kind is None or occurred_at is None:
            raise CellError(
                "kind" if kind is None else "occurredAt", "kind and occurredAt are required."
            )
        item = ActivityInput(
            kind=kind,
            occurred_at=occurred_at,
            account_id=parse_id(v.get("accountId"), "Account", "accountId"),
            account_external_ref=v.get("accountExternalRef"),
            user_id=parse_id(v.get("userId"), "User", "userId"),
            contact_id=parse_id(v.get("contactId"), "Contact", "contactId"),
            amount=parse_decimal(v.get("amount"), "amount"),
            summary=v.get("summary"),
            source=v.get("source"),
            external_id=v.get("externalId"),
        )
        return parse_id(v.get("id"), "Activity", "id"), item

    def key(self, data: tuple[int | None, ActivityInput]) -> Hashable | None:
        pk, item = data
        if pk is not None:
            return ("id", pk)
        return None if item.external_id is None else ("externalId", item.source, item.external_id)

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        result = BatchResult()
        known = [i.data[0] for i in items if i.data[0] is not None]
        found = (
            set(await session.scalars(select(Activity.id).where(Activity.id.in_(known))))
            if known
            else set()
        )
        fresh: list[Item] = []
        for item in items:
            pk = item.data[0]
            if pk is None:
                fresh.append(item)
            elif pk in found:
                result.unchanged += 1  # an activity is a fact: a row with its id is a repeat
            else:
                result.errors.append(RowError(item.row, "id", "NOT_FOUND", "Unknown activity."))
        if fresh:
            logged = await log_activities(
                session, actor=actor, items=[i.data[1] for i in fresh], max_batch=len(fresh)
            )
            result.created += logged.accepted_count
            result.unchanged += logged.duplicate_count
            for index, errors in logged.rejected:
                for error in errors:
                    result.errors.extend(row_errors(fresh[index].row, error, self.columns))
        return result


# --- assignments -----------------------------------------------------------------------


class AssignmentImporter(_RowByRow):
    columns: tuple[str, ...] = (
        "id",
        "accountId",
        "accountExternalRef",
        "userId",
        "managerType",
        "contactFrequencyDays",
        "startedAt",
    )
    required: frozenset[str] = frozenset({"contactFrequencyDays"})

    def clean(self, row: Row) -> dict[str, Any]:
        v = row.values
        return {
            "id": parse_id(v.get("id"), "Assignment", "id"),
            **_account_columns(v),
            "user_id": parse_id(v.get("userId"), "User", "userId"),
            "manager_type": parse_enum(v.get("managerType"), ManagerType, "managerType"),
            "contact_frequency_days": parse_int(
                v.get("contactFrequencyDays"), "contactFrequencyDays"
            ),
            "started_at": parse_datetime(v.get("startedAt"), "startedAt"),
        }

    def key(self, data: dict[str, Any]) -> Hashable | None:
        return None if data["id"] is None else ("id", data["id"])

    async def write_one(self, session: AsyncSession, actor: Actor, data: dict[str, Any]) -> str:
        days = data["contact_frequency_days"]
        if data["id"] is not None:
            row = await session.get(Assignment, data["id"], with_for_update=True)
            if row is None:
                raise NotFoundError("Unknown assignment.", field="id")
            return await self._frequency(session, actor, row, days)
        if data["user_id"] is None or data["manager_type"] is None:
            raise InvalidInputError("userId and managerType are required.", field="userId")
        account_id = await account_of(session, data)
        query = select(Assignment).where(
            Assignment.account_id == account_id,
            Assignment.manager_type == data["manager_type"],
            Assignment.user_id == data["user_id"],
        )
        existing = (await session.scalars(query.with_for_update())).one_or_none()
        if existing is not None:
            return await self._frequency(session, actor, existing, days)
        await assignments.assign_account(
            session,
            actor=actor,
            account_id=account_id,
            user_id=data["user_id"],
            manager_type=data["manager_type"],
            contact_frequency_days=days,
            started_at=data["started_at"],
        )
        return "created"

    async def _frequency(
        self, session: AsyncSession, actor: Actor, row: Assignment, days: int
    ) -> str:
        if row.contact_frequency_days == days:
            return "unchanged"
        checks = Checks()
        checks.int_range("contactFrequencyDays", days, low=1, high=assignments.MAX_FREQUENCY_DAYS)
        checks.raise_if_any()
        delta = audit.diff(
            {"contactFrequencyDays": row.contact_frequency_days}, {"contactFrequencyDays": days}
        )
        row.contact_frequency_days = days
        await session.flush()
        await cadence.recompute_assignments(session, [row.id])
        await audit.record(
            session,
            actor=actor,
            action="assignment.import.update",
            entity_type="Assignment",
            entity_id=row.id,
            changes=delta,
        )
        return "updated"
