"""Assignments and contact cadence: who covers which account, and who is overdue."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Self

import strawberry
from graphql import GraphQLError

from app.activities import cadence
from app.assignments import bulk, service
from app.models import assignments as models
from app.models.assignments import BalanceStatus, BulkMode
from schema import permissions, visibility
from schema.context import Context, Info
from schema.enums import CadenceStatus, ManagerType
from schema.errors import UserError
from schema.lists import AssignmentOrder, ordered_connection
from schema.relay import (
    Connection,
    Node,
    at_most,
    decode_id,
    decode_optional,
    register_node,
    to_global_id,
)

if TYPE_CHECKING:
    from schema.accounts import Account
    from schema.users import User

strawberry.enum(BalanceStatus)
strawberry.enum(BulkMode, name="BulkReassignMode")

MAX_WINDOW_DAYS = 3650


@strawberry.type(description="Contacts against the frequency over a window (see DESIGN.md).")
class ContactBalance:
    expected: float
    actual: int
    ratio: float | None
    status: BalanceStatus


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
    contact_days: strawberry.Private[list[date]]
    today: strawberry.Private[date]

    @classmethod
    def from_model(cls, row: models.Assignment, now: datetime | None = None) -> Self:
        now = now or datetime.now(UTC)
        return cls(
            id=to_global_id("Assignment", row.id),
            manager_type=row.manager_type,
            contact_frequency_days=row.contact_frequency_days,
            started_at=row.started_at,
            last_contact_at=row.last_contact_at,
            next_contact_due=row.next_contact_due,
            status=cadence.cadence_status(row.next_contact_due, now),
            user_pk=row.user_id,
            account_pk=row.account_id,
            contact_days=row.contact_days,
            today=cadence.utc_today(now),
        )

    @strawberry.field
    def balance(
        self,
        window_days: int = cadence.DEFAULT_WINDOW_DAYS,
        surplus_at: float = cadence.DEFAULT_SURPLUS_AT,
        deficit_at: float = cadence.DEFAULT_DEFICIT_AT,
    ) -> ContactBalance:
        if not 1 <= window_days <= MAX_WINDOW_DAYS:
            raise _bad_argument(f"windowDays must be between 1 and {MAX_WINDOW_DAYS}.")
        if not 0 <= deficit_at < surplus_at:
            raise _bad_argument("Need 0 <= deficitAt < surplusAt.")
        found = cadence.contact_balance(
            self.contact_days,
            started_at=self.started_at,
            frequency_days=self.contact_frequency_days,
            today=self.today,
            window_days=window_days,
            surplus_at=surplus_at,
            deficit_at=deficit_at,
        )
        return ContactBalance(
            expected=found.expected, actual=found.actual, ratio=found.ratio, status=found.status
        )

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


def _bad_argument(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "INVALID_INPUT"})


async def load_assignment(context: Context, pk: int) -> Assignment | None:
    row = await context.loader(service.assignments_by_id).load(pk)
    return None if row is None else Assignment.from_model(row, context.now)


register_node("Assignment", "assignment.read", load_assignment)


@strawberry.type
class AccountCadenceFields:
    pk: strawberry.Private[int]

    @strawberry.field(
        description="Who covers the account, by manager type: at most"
        " ACCOUNTFLOW_MAX_LIST_ITEMS (100); `assignments(filter: {accountId})` pages them all."
    )
    async def assignments(self, info: Info) -> list[Assignment]:
        rows = await info.context.loader(service.assignments_by_account).load(self.pk)
        now = info.context.now
        return [Assignment.from_model(row, now) for row in at_most(info, rows)]


@strawberry.type
class UserCadenceFields:
    pk: strawberry.Private[int]

    @strawberry.field(description="Distinct accounts the user is assigned to.")
    async def assigned_account_count(self, info: Info) -> int:
        found = await info.context.loader(service.workload_by_user).load(self.pk)
        return found.assigned_accounts

    @strawberry.field(description="The user's assignments whose next contact is past due.")
    async def overdue_count(self, info: Info) -> int:
        found = await info.context.loader(service.workload_by_user).load(self.pk)
        return found.overdue


@strawberry.input
class AssignmentFilter:
    user_id: strawberry.ID | None = None
    manager_type: ManagerType | None = None
    account_id: strawberry.ID | None = None
    status: list[CadenceStatus] | None = None
    balance: list[BalanceStatus] | None = strawberry.field(
        default=None, description="Over the default window (365 days) and thresholds."
    )
    inactive_users: bool | None = strawberry.field(
        default=None,
        description="true: only assignments held by deactivated users, the work to reassign "
        "(bulkReassign fromUserId moves it); false: only active users' assignments.",
    )

    def to_args(self) -> service.AssignmentFilter:
        return service.AssignmentFilter(
            user_id=decode_optional(self.user_id, "User", field="filter.userId"),
            manager_type=self.manager_type,
            account_id=decode_optional(self.account_id, "Account", field="filter.accountId"),
            status=self.status,
            balance=self.balance,
            inactive_users=self.inactive_users,
        )


@strawberry.input
class AssignAccountInput:
    account_id: strawberry.ID
    user_id: strawberry.ID
    manager_type: ManagerType
    contact_frequency_days: int | None = strawberry.field(
        default=None, description="Default: the one set for the manager type and classification."
    )
    started_at: datetime | None = None


@strawberry.input
class UnassignInput:
    assignment_id: strawberry.ID


@strawberry.input
class BulkReassignInput:
    mode: BulkMode
    to_user_id: strawberry.ID | None = None
    assignment_ids: list[strawberry.ID] | None = None
    from_user_id: strawberry.ID | None = None
    manager_type: ManagerType | None = None
    dry_run: bool | None = False


@strawberry.type
class AssignPayload:
    assignment: Assignment | None = None
    warnings: list[str] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UnassignPayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class BulkReassignPayload:
    affected_count: int = 0
    dry_run: bool = False
    assignments: list[Assignment] = strawberry.field(default_factory=list)
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Assignments, most overdue first.")
    @permissions.query("assignment.read")
    async def assignments(
        self,
        info: Info,
        filter: AssignmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: AssignmentOrder | None = None,
    ) -> Connection[Assignment]:
        now = info.context.now
        query = service.assignments_query(
            filter.to_args() if filter else service.AssignmentFilter(), now
        )
        return await ordered_connection(
            info,
            await visibility.scoped(info.context, query, models.Assignment.account_id),
            orders=service.ASSIGNMENT_ORDERS,
            order_by=order_by,
            pages=(first, after, last, before),
            convert=lambda row: Assignment.from_model(row, now),
        )


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("assignment.write")
    async def assign_account(self, info: Info, input: AssignAccountInput) -> AssignPayload:
        row, warnings = await service.assign_account(
            info.context.session,
            actor=info.context.actor,
            account_id=decode_id(input.account_id, "Account", field="accountId"),
            user_id=decode_id(input.user_id, "User", field="userId"),
            manager_type=input.manager_type,
            contact_frequency_days=input.contact_frequency_days,
            started_at=input.started_at,
        )
        return AssignPayload(assignment=Assignment.from_model(row), warnings=warnings)

    @strawberry.mutation
    @permissions.mutation("assignment.write")
    async def unassign(self, info: Info, input: UnassignInput) -> UnassignPayload:
        removed = await service.unassign(
            info.context.session,
            actor=info.context.actor,
            assignment_id=decode_id(input.assignment_id, "Assignment", field="assignmentId"),
        )
        return UnassignPayload(removed_id=to_global_id("Assignment", removed))

    @strawberry.mutation
    @permissions.mutation("assignment.write")
    async def bulk_reassign(self, info: Info, input: BulkReassignInput) -> BulkReassignPayload:
        ids = input.assignment_ids
        result = await bulk.bulk_reassign(
            info.context.session,
            actor=info.context.actor,
            mode=input.mode,
            to_user_id=decode_optional(input.to_user_id, "User", field="toUserId"),
            assignment_ids=None
            if ids is None
            else [decode_id(i, "Assignment", field="assignmentIds") for i in ids],
            from_user_id=decode_optional(input.from_user_id, "User", field="fromUserId"),
            manager_type=input.manager_type,
            dry_run=bool(input.dry_run),
        )
        now = datetime.now(UTC)
        return BulkReassignPayload(
            affected_count=result.affected_count,
            dry_run=result.dry_run,
            assignments=[Assignment.from_model(r, now) for r in result.assignments],
        )
