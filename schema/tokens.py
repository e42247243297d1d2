"""API tokens over GraphQL: mint (shown once), list, revoke by id."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from app.auth import tokens
from app.models import auth as models
from schema import permissions
from schema.context import Context, Info
from schema.errors import UserError
from schema.relay import (
    Connection,
    Node,
    decode_id,
    list_connection,
    page_args,
    register_node,
    to_global_id,
)
from schema.users import User, load_user


@strawberry.type(description="An API token; the token itself is shown only when created.")
class ApiToken(Node):
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = strawberry.field(
        description="Updated at most once a minute per token."
    )
    revoked_at: datetime | None
    user_pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.ApiToken) -> Self:
        return cls(
            id=to_global_id("ApiToken", row.id),
            name=row.name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
            user_pk=row.user_id,
        )

    @strawberry.field
    async def user(self, info: Info) -> User:
        found = await load_user(info.context, self.user_pk)
        assert found is not None, "a token's user is never deleted"
        return found


async def load_api_token(context: Context, pk: int) -> ApiToken | None:
    row = tokens.visible_to(context.actor, await context.loader(tokens.tokens_by_id).load(pk))
    return None if row is None else ApiToken.from_model(row)


register_node("ApiToken", "token.read", load_api_token)


@strawberry.input
class CreateApiTokenInput:
    user_id: strawberry.ID
    name: str
    expires_at: datetime | None = strawberry.field(
        default=None, description="Must be in the future; without it the token never expires."
    )


@strawberry.type
class CreateApiTokenPayload:
    token: str | None = strawberry.field(
        default=None, description="The secret, shown this once: it is stored only as a hash."
    )
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class RevokeApiTokenInput:
    id: strawberry.ID


@strawberry.type
class ApiTokenPayload:
    api_token: ApiToken | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(
        description="A user's tokens, newest first (at most 100), live, expired or revoked; "
        "without userId the viewer's own. ADMIN lists anyone's; others only their own. "
        "liveApiTokens pages through every live one."
    )
    @permissions.query("token.read")
    async def api_tokens(self, info: Info, user_id: strawberry.ID | None = None) -> list[ApiToken]:
        context = info.context
        async with context.db() as session:
            rows = await tokens.list_tokens(
                session, actor=context.actor, user_id=_user_pk(context, user_id)
            )
        return [ApiToken.from_model(row) for row in rows]

    @strawberry.field(
        description="Every live token of a user (neither revoked nor expired), newest first, "
        "a page at a time; without userId the viewer's own. ADMIN lists anyone's; others "
        "only their own."
    )
    @permissions.query("token.read")
    async def live_api_tokens(
        self,
        info: Info,
        user_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ApiToken]:
        context = info.context
        args = page_args(info, first, after)
        async with context.db() as session:
            page = await tokens.live_token_page(
                session, actor=context.actor, user_id=_user_pk(context, user_id), args=args
            )
        return list_connection(page, ApiToken.from_model, page.total or 0)


def _user_pk(context: Context, user_id: strawberry.ID | None) -> int:
    return context.viewer.id if user_id is None else decode_id(user_id, "User", field="userId")


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="ADMIN mints tokens for any user; MANAGER and REP only for themselves. "
        "A user holding the most live tokens allowed gets none (TOKEN_LIMIT)."
    )
    @permissions.mutation("token.create")
    async def create_api_token(
        self, info: Info, input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        raw, row = await tokens.create_token(
            info.context.session,
            actor=info.context.actor,
            user_id=decode_id(input.user_id, "User", field="userId"),
            name=input.name,
            expires_at=input.expires_at,
            max_live=info.context.settings.security.max_tokens_per_user,
        )
        return CreateApiTokenPayload(token=raw, api_token=ApiToken.from_model(row))

    @strawberry.mutation(description="Stops the token at once. ADMIN: any token; others: theirs.")
    @permissions.mutation("token.revoke")
    async def revoke_api_token(self, info: Info, input: RevokeApiTokenInput) -> ApiTokenPayload:
        row = await tokens.revoke_token_by_id(
            info.context.session,
            actor=info.context.actor,
            token_id=decode_id(input.id, "ApiToken"),
        )
        return ApiTokenPayload(api_token=ApiToken.from_model(row))
