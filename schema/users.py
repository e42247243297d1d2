from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Self

import strawberry

from app.auth import service
from app.kit.pagination import count, keyset_page
from app.models import auth as models
from app.tasks.figures import user_figures
from schema import permissions
from schema.cadence import UserCadenceFields
from schema.context import Context, Info
from schema.enums import Role
from schema.errors import UserError
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    page_args,
    register_node,
    to_global_id,
)
from schema.teams import UserTeamFields


@strawberry.type(description="A user's own figures as of now (app/tasks/figures.py).")
class UserFigures:
    assigned_accounts: int
    overdue: int
    due_soon: int = strawberry.field(description="Assignments due within 7 days, not overdue.")
    contacts_last_30_days: int = strawberry.field(
        description="The user's own activities of the last 30 days, NOTEs left out."
    )
    contacts_due_next_30_days: int = strawberry.field(
        description="Assignments due within 30 days, not overdue."
    )
    open_tasks: int
    overdue_tasks: int


@strawberry.type
class User(UserCadenceFields, UserTeamFields, Node):
    email: str
    name: str
    role: Role
    max_accounts: int | None
    is_active: bool
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.User) -> Self:
        return cls(
            id=to_global_id("User", row.id),
            pk=row.id,
            email=row.email,
            name=row.name,
            role=row.role,
            max_accounts=row.max_accounts,
            is_active=row.is_active,
        )

    @strawberry.field(description="Readable by the user and by managers (others: FORBIDDEN).")
    async def figures(self, info: Info) -> UserFigures | None:
        context = info.context
        if self.pk != context.viewer_id and not permissions.allowed(context, "figures.read_any"):
            raise permissions.forbidden()
        async with context.db() as session:
            found = await user_figures(session, user_id=self.pk, now=context.now)
        return UserFigures(**asdict(found))


async def load_user(context: Context, pk: int | None) -> User | None:
    if pk is None:
        return None
    row = await context.loader(service.users_by_id).load(pk)
    return None if row is None else User.from_model(row)


register_node("User", "user.read", load_user)


@strawberry.input
class CreateUserInput:
    email: str
    name: str
    role: Role
    max_accounts: int | None = None


@strawberry.input(
    description="Only the fields sent change. `maxAccounts: null` removes the limit; "
    "`isActive: false` stops the user's tokens at once and keeps their assignments."
)
class UpdateUserInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    role: Role | None = strawberry.UNSET
    max_accounts: int | None = strawberry.UNSET
    is_active: bool | None = strawberry.UNSET

    def to_changes(self) -> service.UserChanges:
        # name, role and isActive cannot be null: a null leaves them as they are.
        changes: service.UserChanges = {}
        if self.name is not None and self.name is not strawberry.UNSET:
            changes["name"] = self.name
        if self.role is not None and self.role is not strawberry.UNSET:
            changes["role"] = self.role
        if self.max_accounts is not strawberry.UNSET:
            changes["max_accounts"] = self.max_accounts
        if self.is_active is not None and self.is_active is not strawberry.UNSET:
            changes["is_active"] = self.is_active
        return changes


@strawberry.type
class UserPayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="The user behind the request's token.")
    @permissions.query("viewer")
    async def viewer(self, info: Info) -> User:
        return User.from_model(info.context.viewer)

    @strawberry.field
    @permissions.query("user.read")
    async def users(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        include_inactive: Annotated[
            bool,
            strawberry.argument(
                description="Deactivated users are left out of pickers unless asked."
            ),
        ] = False,
    ) -> Connection[User]:
        args = page_args(info, first, after)
        query = service.users_query(include_inactive=include_inactive)
        async with info.context.db() as session:
            page = await keyset_page(session, query, order=service.USER_ORDER, args=args)

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, User.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("user.create")
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        row = await service.create_user(
            info.context.session,
            actor=info.context.actor,
            email=input.email,
            name=input.name,
            role=input.role,
            max_accounts=input.max_accounts,
        )
        return UserPayload(user=User.from_model(row))

    @strawberry.mutation(
        description="ADMIN only. Unknown id: NOT_FOUND; the last active admin "
        "can be neither deactivated nor demoted (LAST_ADMIN)."
    )
    @permissions.mutation("user.update")
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        row = await service.update_user(
            info.context.session,
            actor=info.context.actor,
            user_id=decode_id(input.id, "User"),
            changes=input.to_changes(),
        )
        return UserPayload(user=User.from_model(row))
