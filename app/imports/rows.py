"""What the row-by-row importers share: one savepoint per row, and the account a row names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import AppError, InvalidInputError, NotFoundError
from app.imports.base import BatchResult, Item, row_errors
from app.imports.values import parse_id
from app.kit.actor import Actor
from app.kit.refs import account_id_by_ref
from app.models.accounts import Account

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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
    found = await account_id_by_ref(session, ref)
    if found is None:
        raise NotFoundError(f"No account has externalRef {ref!r}.", field="accountExternalRef")
    return int(found)


def account_columns(values: dict[str, str | None]) -> dict[str, Any]:
    return {
        "account_id": parse_id(values.get("accountId"), "Account", "accountId"),
        "account_external_ref": values.get("accountExternalRef"),
    }


def names_account(values: dict[str, Any]) -> bool:
    return values["account_id"] is not None or values["account_external_ref"] is not None


def camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def tally(result: BatchResult, outcome: str) -> None:
    result.created += outcome == CREATED
    result.updated += outcome == UPDATED
    result.unchanged += outcome == UNCHANGED


class RowByRow:
    """Writes each row through the API's services, each under its own savepoint: a row the
    rules refuse is reported and leaves nothing behind, the others are kept."""

    columns: tuple[str, ...] = ()
    renames: ClassVar[Mapping[str, str]] = {}  # a service's error field -> the CSV column

    async def write(
        self, session: AsyncSession, actor: Actor, items: Sequence[Item]
    ) -> BatchResult:
        result = BatchResult()
        for item in items:
            try:
                async with session.begin_nested():
                    outcome = await self.write_one(session, actor, item.data)
            except AppError as error:
                result.errors.extend(row_errors(item.row, error, self.columns, self.renames))
                continue
            tally(result, outcome)
        return result

    async def write_one(self, session: AsyncSession, actor: Actor, data: Any) -> str:
        raise NotImplementedError
