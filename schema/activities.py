from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Self

import strawberry

from app.activities import models, service
from schema.context import Context, Info
from schema.enums import ActivityKind
from schema.relay import Connection, Node, list_connection, page_args, register_node, to_global_id

if TYPE_CHECKING:
    from schema.accounts import Account
    from schema.users import User


@strawberry.type
class Activity(Node):
    kind: ActivityKind
    occurred_at: datetime
    summary: str | None
    amount: Decimal | None
    source: str | None
    external_id: str | None
    pk: strawberry.Private[int]
    account_pk: strawberry.Private[int]
    user_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: models.Activity) -> Self:
        return cls(
            id=to_global_id("Activity", row.id),
            pk=row.id,
            kind=row.kind,
            occurred_at=row.occurred_at,
            summary=row.summary,
            amount=row.amount,
            source=row.source,
            external_id=row.external_id,
            account_pk=row.account_id,
            user_pk=row.user_id,
        )

    @strawberry.field
    async def account(self, info: Info) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        from schema.accounts import load_account

        found = await load_account(info.context, self.account_pk)
        assert found is not None
        return found

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import load_user

        return await load_user(info.context, self.user_pk)


async def load_activity(context: Context, pk: int) -> Activity | None:
    row = await context.loader(service.activities_by_id).load(pk)
    return None if row is None else Activity.from_model(row)


register_node("Activity", "activity.read", load_activity)


@strawberry.type
class AccountActivityFields:
    pk: strawberry.Private[int]

    @strawberry.field(description="Logged events, newest first.")
    async def activities(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Activity]:
        args = page_args(info, first, after)
        page, total = await info.context.loader(service.activity_pages).load((self.pk, args))
        return list_connection([Activity.from_model(r) for r in page.items], page.cursors, total)
