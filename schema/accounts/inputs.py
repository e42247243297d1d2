"""The accounts list's filter and order, and the inputs of account mutations."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.accounts import read
from app.accounts.read import AccountFilter as AccountFilterArgs
from app.kit.validation import Checks
from schema.enums import AccountSource, BuyingRole, CadenceStatus, Classification, ManagerType
from schema.relay import decode_optional


@strawberry.input
class AccountFilter:
    search: str | None = None
    classification: list[Classification] | None = None
    industry: str | None = None
    country_code: str | None = None
    parent_id: strawberry.ID | None = None
    include_archived: bool | None = None

    source: list[AccountSource] | None = None
    tags: list[str] | None = strawberry.field(
        default=None, description="Accounts with all of them."
    )
    external_ref: str | None = None
    employee_count_above: int | None = None
    region: str | None = strawberry.field(default=None, description="Ignoring case.")
    city: str | None = strawberry.field(default=None, description="Ignoring case.")
    postal_code_prefix: str | None = strawberry.field(
        default=None, description="Postal codes starting with it, ignoring case."
    )
    assigned_user_id: strawberry.ID | None = None
    manager_type: ManagerType | None = None
    cadence_status: list[CadenceStatus] | None = None
    stage: str | None = strawberry.field(default=None, description="Stage in `pipeline`.")
    pipeline: str | None = "default"
    created_after: datetime | None = None
    updated_after: datetime | None = None

    def to_args(self) -> AccountFilterArgs:
        checks = Checks()
        checks.no_nul("filter.search", self.search)
        for column_filter in read.FILTERS:
            if column_filter.attribute.type.python_type in (str, list):
                value = getattr(self, column_filter.key)
                texts = value if isinstance(value, list) else [value]
                checks.no_nul(f"filter.{column_filter.name}", *texts)
        checks.no_nul("filter.stage", self.stage, self.pipeline)
        checks.moment("filter.createdAfter", self.created_after)
        checks.moment("filter.updatedAfter", self.updated_after)
        checks.raise_if_any()
        return AccountFilterArgs(
            search=self.search,
            include_archived=bool(self.include_archived),
            assigned_user_id=decode_optional(
                self.assigned_user_id, "User", field="filter.assignedUserId"
            ),
            manager_type=self.manager_type,
            cadence_status=self.cadence_status,
            stage=self.stage,
            pipeline=self.pipeline or "default",
            **{f.key: _value(getattr(self, f.key), f) for f in read.FILTERS},
        )


def _value(value: Any, column_filter: read.Filter) -> Any:
    if column_filter.id_of is None:
        return value
    return decode_optional(value, column_filter.id_of, field=f"filter.{column_filter.name}")


@strawberry.enum
class SortDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class AccountOrderField(Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    NEXT_CONTACT_DUE = "NEXT_CONTACT_DUE"
    REVENUE_LAST_12_MONTHS = "REVENUE_LAST_12_MONTHS"


@strawberry.input(description="Without an order: by name, or by relevance when searching.")
class AccountOrder:
    field: AccountOrderField
    direction: SortDirection = SortDirection.ASC

    def to_args(self) -> tuple[read.OrderField, bool]:
        return read.OrderField(self.field.value), self.direction is SortDirection.DESC


@strawberry.input
class AddressInput:
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


@strawberry.input
class CreateAccountInput:
    name: str
    classification: Classification | None = None
    industry: str | None = None
    source: AccountSource | None = None
    address: AddressInput | None = None
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    employee_count: int | None = None
    external_ref: str | None = None
    attributes: JSON | None = None
    parent_id: strawberry.ID | None = None


@strawberry.input
class UpdateAccountInput:
    id: strawberry.ID
    expected_version: int | None = None
    name: str | None = strawberry.UNSET
    classification: Classification | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    source: AccountSource | None = strawberry.UNSET
    address: AddressInput | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET
    employee_count: int | None = strawberry.UNSET
    external_ref: str | None = strawberry.UNSET
    attributes: JSON | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET


# The inputs' fields the service takes as they are: the read model's written columns.
ADDRESS_FIELDS = tuple(c.key for c in read.COLUMNS if c.write and c.within == "address")
PLAIN_FIELDS = tuple(c.key for c in read.COLUMNS if c.write and c.within is None)


def account_fields(input: CreateAccountInput | UpdateAccountInput) -> dict[str, Any]:
    """The input's given fields as service keywords (UNSET ones are left out)."""
    fields: dict[str, Any] = {}
    for name in PLAIN_FIELDS:
        value = getattr(input, name)
        if value is not strawberry.UNSET:
            fields[name] = value
    if input.address is not strawberry.UNSET:
        address = input.address
        for name in ADDRESS_FIELDS:
            fields[name] = None if address is None else getattr(address, name)
    if input.parent_id is not strawberry.UNSET:
        fields["parent_id"] = decode_optional(input.parent_id, "Account", field="parentId")
    return fields


@strawberry.input
class ArchiveAccountInput:
    id: strawberry.ID


@strawberry.input
class AddContactInput:
    account_id: strawberry.ID
    name: str
    title: str | None = None
    email: str | None = None
    phone: str | None = None
    buying_role: BuyingRole | None = None
