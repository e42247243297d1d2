"""Contacts from CSV, as addContact and updateContact write them."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lifecycle
from app.accounts import service as accounts
from app.imports.csvfile import Row
from app.imports.rows import (
    CREATED,
    UNCHANGED,
    UPDATED,
    RowByRow,
    account_columns,
    account_of,
    camel,
    names_account,
)
from app.imports.values import parse_enum, parse_id
from app.kit import changes
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.accounts import BuyingRole, Contact


class ContactImporter(RowByRow):
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
            **account_columns(v),
            # Only the file's columns change a stored contact.
            "fields": {k: x for k, x in fields.items() if camel(k) in present},
            "all": fields,
        }

    def key(self, data: dict[str, Any]) -> Hashable | None:
        return None if data["id"] is None else ("id", data["id"])

    async def write_one(self, session: AsyncSession, actor: Actor, data: dict[str, Any]) -> str:
        if data["id"] is None:
            account_id = await account_of(session, data)
            await accounts.add_contact(session, actor=actor, account_id=account_id, **data["all"])
            return CREATED
        # As updateContact: a removed contact is not found, whatever the row says.
        await lifecycle.contact_account_id(session, data["id"])
        fields = dict(data["fields"])
        if names_account(data):
            fields["account_id"] = await account_of(session, data)
        query = select(Contact).where(Contact.id == data["id"])
        contact = (await session.scalars(query.execution_options(populate_existing=True))).one()
        if not changes.diff({k: getattr(contact, k) for k in fields}, fields):
            return UNCHANGED
        await lifecycle.update_contact(session, actor=actor, contact_id=contact.id, **fields)
        return UPDATED
