"""Assignments and contact cadence: the foundation gives their shape, cadence fills them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.enums import CadenceStatus, ManagerType
from schema.relay import Node

if TYPE_CHECKING:
    from schema.accounts import Account
    from schema.users import User


@strawberry.type
class Assignment(Node):
    manager_type: ManagerType
    contact_frequency_days: int
    started_at: datetime
    last_contact_at: datetime | None
    next_contact_due: datetime
    status: CadenceStatus
    user_pk: strawberry.Private[int]
    account_pk: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")]:
        from schema.users import load_user

        found = await load_user(info.context, self.user_pk)
        assert found is not None
        return found

    @strawberry.field
    async def account(self, info: Info) -> Annotated[Account, strawberry.lazy("schema.accounts")]:
        from schema.accounts import load_account

        found = await load_account(info.context, self.account_pk)
        assert found is not None
        return found


@strawberry.type
class AccountCadenceFields:
    @strawberry.field
    async def assignments(self, info: Info) -> list[Assignment]:
        return []


@strawberry.type
class UserCadenceFields:
    @strawberry.field
    async def assigned_account_count(self, info: Info) -> int:
        return 0

    @strawberry.field
    async def overdue_count(self, info: Info) -> int:
        return 0
