from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Self

import strawberry

from app.activities import ingest, rules, service, voiding
from app.errors import AppError
from app.leads import activities as lead_activities
from app.models import activities as models
from schema import permissions, visibility
from schema.context import Context, Info
from schema.engine.inputs import build_input_with, input_fields
from schema.enums import ActivityKind, ManagerType
from schema.errors import UserError, to_user_errors
from schema.lists import ActivityOrder, ordered_connection
from schema.relay import (
    Connection,
    Node,
    decode_optional,
    list_connection,
    page_args,
    register_node,
    to_global_id,
)

if TYPE_CHECKING:
    from schema.accounts import Account, Contact
    from schema.leads import Lead
    from schema.users import User


@strawberry.type
class Activity(Node):
    kind: ActivityKind
    occurred_at: datetime
    summary: str | None
    amount: Decimal | None
    source: str | None
    external_id: str | None
    voided_at: datetime | None
    void_reason: str | None
    pk: strawberry.Private[int]
    account_pk: strawberry.Private[int | None]
    lead_pk: strawberry.Private[int | None]
    user_pk: strawberry.Private[int | None]
    contact_pk: strawberry.Private[int | None]

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
            lead_pk=row.lead_id,
            user_pk=row.user_id,
            contact_pk=row.contact_id,
            voided_at=row.voided_at,
            void_reason=row.void_reason,
        )

    @strawberry.field(description="None while the activity is on a lead not converted yet.")
    async def account(
        self, info: Info
    ) -> Annotated[Account, strawberry.lazy("schema.accounts")] | None:
        from schema.accounts import load_account

        return await load_account(info.context, self.account_pk)

    @strawberry.field(description="The lead it was logged on (kept after the lead's conversion).")
    async def lead(self, info: Info) -> Annotated[Lead, strawberry.lazy("schema.leads")] | None:
        from schema.leads import load_lead

        return None if self.lead_pk is None else await load_lead(info.context, self.lead_pk)

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy("schema.users")] | None:
        from schema.users import load_user

        permissions.require(info.context, "Activity.user")
        return await load_user(info.context, self.user_pk)

    @strawberry.field(description="The contact, also when removed since.")
    async def contact(
        self, info: Info
    ) -> Annotated[Contact, strawberry.lazy("schema.accounts")] | None:
        from schema.accounts import load_contact

        return (
            None if self.contact_pk is None else await load_contact(info.context, self.contact_pk)
        )


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
        return list_connection(page, Activity.from_model, total)


@strawberry.type
class ContactRule:
    manager_type: ManagerType
    kinds: list[ActivityKind]
    assignee_only: bool
    rebuild_pending: bool = strawberry.field(
        description="The assignments' stored contacts are being rebuilt after a change."
    )

    @classmethod
    def from_model(cls, row: models.ContactRule) -> Self:
        return cls(
            manager_type=row.manager_type,
            kinds=[models.ActivityKind(k) for k in row.kinds],
            assignee_only=row.assignee_only,
            rebuild_pending=row.rebuild_pending,
        )


@strawberry.input
class LogActivityInput:
    kind: ActivityKind
    occurred_at: datetime
    account_id: strawberry.ID | None = None
    account_external_ref: str | None = None
    user_id: strawberry.ID | None = None
    user_email: str | None = None
    contact_id: strawberry.ID | None = None
    summary: str | None = None
    amount: Decimal | None = None
    source: str | None = None
    external_id: str | None = None
    lead_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="On a lead instead of an account (logActivity only; no contact or amount).",
    )

    def to_args(self) -> ingest.ActivityInput:
        return ingest.ActivityInput(
            kind=self.kind,
            occurred_at=self.occurred_at,
            account_id=decode_optional(self.account_id, "Account", field="accountId"),
            account_external_ref=self.account_external_ref,
            user_id=decode_optional(self.user_id, "User", field="userId"),
            user_email=self.user_email,
            contact_id=decode_optional(self.contact_id, "Contact", field="contactId"),
            summary=self.summary,
            amount=self.amount,
            source=self.source,
            external_id=self.external_id,
            lead_id=decode_optional(self.lead_id, "Lead", field="leadId"),
        )


_INPUT_FIELDS = input_fields(LogActivityInput)


def _build_input(cls: type, value: Mapping[str, Any]) -> Any:
    """graphql-core has coerced every field already (enums, DateTime, Decimal, ID): build
    the input directly, as strawberry's generic conversion costs ~0.4 ms per batch item."""
    return cls(**{python: value.get(graphql) for python, graphql in _INPUT_FIELDS})


build_input_with(LogActivityInput, _build_input)


def _build_batch(cls: type, value: Mapping[str, Any]) -> Any:
    """The whole list at once: strawberry's per-item walk (leaf checks, one call per item)
    costs more than building the items."""
    return cls(
        activities=[
            LogActivityInput(**{python: item.get(graphql) for python, graphql in _INPUT_FIELDS})
            for item in value["activities"]
        ]
    )


def item_from_coerced(value: Mapping[str, Any]) -> ingest.ActivityInput | AppError:
    """What `LogActivityInput.to_args` makes of an item graphql-core coerced (all fields
    present, schema.activity_input), without the input object (bulk ingest's hot loop)."""
    try:
        return ingest.ActivityInput(
            kind=value["kind"],
            occurred_at=value["occurredAt"],
            account_id=decode_optional(value["accountId"], "Account", field="accountId"),
            account_external_ref=value["accountExternalRef"],
            user_id=decode_optional(value["userId"], "User", field="userId"),
            user_email=value["userEmail"],
            contact_id=decode_optional(value["contactId"], "Contact", field="contactId"),
            summary=value["summary"],
            amount=value["amount"],
            source=value["source"],
            external_id=value["externalId"],
            lead_id=decode_optional(value.get("leadId"), "Lead", field="leadId"),
        )
    except AppError as error:
        return error


def _parse_item(item: LogActivityInput) -> ingest.ActivityInput | AppError:
    try:
        return item.to_args()
    except AppError as error:
        return error


def rejected_item(index: int, errors: list[AppError]) -> RejectedItem:
    return RejectedItem(index=index, errors=[u for e in errors for u in to_user_errors(e)])


def _may_see(context: Context, row: models.Activity) -> bool:
    """A repeated key shows the stored activity only to its sender or a reader of activities:
    the key alone must not reveal another caller's account and author."""
    return row.logged_by_id == context.viewer.id or permissions.allowed(context, "activity.read")


@strawberry.input
class LogActivitiesInput:
    activities: list[LogActivityInput]


build_input_with(LogActivitiesInput, _build_batch)


@strawberry.input
class ActivityFilter:
    account_id: strawberry.ID | None = None
    user_id: strawberry.ID | None = None
    kinds: list[ActivityKind] | None = None
    from_: datetime | None = strawberry.field(default=None, name="from")
    to: datetime | None = strawberry.field(default=None, description="Exclusive.")
    include_voided: bool | None = False

    def to_args(self) -> voiding.ActivityFilter:
        return voiding.ActivityFilter(
            account_id=decode_optional(self.account_id, "Account", field="filter.accountId"),
            user_id=decode_optional(self.user_id, "User", field="filter.userId"),
            kinds=self.kinds,
            occurred_from=self.from_,
            occurred_to=self.to,
            include_voided=bool(self.include_voided),
        )


@strawberry.input(
    description="The activity by `id`, or by the `source` and `externalId` it was sent with."
)
class VoidActivityInput:
    id: strawberry.ID | None = None
    source: str | None = None
    external_id: str | None = None
    reason: str


@strawberry.input
class SetContactRuleInput:
    manager_type: ManagerType
    kinds: list[ActivityKind]
    assignee_only: bool | None = False


@strawberry.type
class LogActivityPayload:
    activity: Activity | None = None
    duplicate: bool = False
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class RejectedItem:
    index: int
    errors: list[UserError]


@strawberry.type
class LogActivitiesPayload:
    accepted_count: int = strawberry.field(default=0, description="New activities stored.")
    duplicate_count: int = strawberry.field(
        default=0, description="Repeats of a stored (source, externalId): nothing written."
    )
    rejected: list[RejectedItem] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(
        default_factory=list, description="Whole-call failures (nothing was written)."
    )


@strawberry.type
class ContactRulePayload:
    rule: ContactRule | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Which activity kinds count as a contact, per manager type.")
    @permissions.query("contact_rule.read")
    async def contact_rules(self, info: Info) -> list[ContactRule]:
        async with info.context.db() as session:
            rows = await rules.contact_rules(session)
        return [ContactRule.from_model(r) for r in rows]

    @strawberry.field(description="Logged events, newest first; voided ones only if asked.")
    @permissions.query("activity.read")
    async def activities(
        self,
        info: Info,
        filter: ActivityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: ActivityOrder | None = None,
    ) -> Connection[Activity]:
        query = voiding.activities_query(filter.to_args() if filter else voiding.ActivityFilter())
        return await ordered_connection(
            info,
            await visibility.scoped(info.context, query, models.Activity.account_id),
            orders=voiding.ACTIVITY_ORDERS,
            order_by=order_by,
            pages=(first, after, last, before),
            convert=Activity.from_model,
        )


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("activity.log")
    async def log_activity(self, info: Info, input: LogActivityInput) -> LogActivityPayload:
        item = input.to_args()
        log = ingest.log_activity if item.lead_id is None else lead_activities.log_lead_activity
        row, duplicate = await log(info.context.session, actor=info.context.actor, item=item)
        if duplicate and not _may_see(info.context, row):
            return LogActivityPayload(activity=None, duplicate=True)
        return LogActivityPayload(activity=Activity.from_model(row), duplicate=duplicate)

    @strawberry.mutation
    @permissions.mutation("activity.log")
    async def log_activities(self, info: Info, input: LogActivitiesInput) -> LogActivitiesPayload:
        result = await ingest.log_activities(
            info.context.session,
            actor=info.context.actor,
            items=[_parse_item(i) for i in input.activities],
            max_batch=info.context.settings.limits.max_batch,
        )
        return LogActivitiesPayload(
            accepted_count=result.accepted_count,
            duplicate_count=result.duplicate_count,
            rejected=[rejected_item(i, errors) for i, errors in result.rejected],
        )

    @strawberry.mutation(description="Void a wrong event: it stays visible but counts no more.")
    @permissions.mutation("activity.void")
    async def void_activity(self, info: Info, input: VoidActivityInput) -> LogActivityPayload:
        row = await voiding.void_activity(
            info.context.session,
            actor=info.context.actor,
            activity_id=decode_optional(input.id, "Activity", field="id"),
            source=input.source,
            external_id=input.external_id,
            reason=input.reason,
        )
        return LogActivityPayload(activity=Activity.from_model(row))

    @strawberry.mutation
    @permissions.mutation("contact_rule.write")
    async def set_contact_rule(self, info: Info, input: SetContactRuleInput) -> ContactRulePayload:
        row = await rules.set_contact_rule(
            info.context.session,
            actor=info.context.actor,
            manager_type=input.manager_type,
            kinds=input.kinds,
            assignee_only=bool(input.assignee_only),
        )
        return ContactRulePayload(rule=ContactRule.from_model(row))
