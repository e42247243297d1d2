"""contactSuggestions: whom a rep should contact next, and why (app.assignments.suggestions)."""

from __future__ import annotations

from typing import Self

import strawberry

from app.assignments import suggestions
from schema import permissions
from schema.cadence import Assignment
from schema.context import Info
from schema.enums import ActivityKind
from schema.relay import Connection, connection, decode_optional, page_args


@strawberry.type(description="An assignment in deficit, with what to do about it.")
class ContactSuggestion:
    assignment: Assignment
    reason: str = strawberry.field(description="Why, in a sentence.")
    suggested_kind: ActivityKind = strawberry.field(
        description="The kind of contact that has counted most on the account "
        "(CALL_OUTBOUND when none has)."
    )
    balance: int = strawberry.field(
        description="Contacts made in the balance window (365 days, clipped to the "
        "assignment's start) minus the whole number its frequency asked for: negative is short."
    )

    @classmethod
    def from_result(cls, found: suggestions.Suggestion, info: Info) -> Self:
        return cls(
            assignment=Assignment.from_model(found.assignment, info.context.now),
            reason=found.reason,
            suggested_kind=found.suggested_kind,
            balance=found.shortfall,
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="A user's assignments in deficit, most urgent first (due longest ago, "
        "then classification); accounts in surplus never. The viewer's own by default; "
        "managers may name anyone."
    )
    @permissions.query("assignment.read")
    async def contact_suggestions(
        self,
        info: Info,
        user_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ContactSuggestion]:
        args = page_args(info, first, after)
        wanted = decode_optional(user_id, "User", field="userId")
        actor, now = info.context.actor, info.context.now
        async with info.context.db() as session:
            user = await suggestions.whose(session, actor=actor, user_id=wanted)
            page = await suggestions.contact_suggestions(session, user_id=user, args=args, now=now)

        async def total() -> int:
            async with info.context.db() as session:
                return await suggestions.count_suggestions(session, user_id=user)

        return connection(page, lambda found: ContactSuggestion.from_result(found, info), total)
