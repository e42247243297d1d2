"""Tasks: their type, the tasks list, and createTask, completeTask and cancelTask."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from app.kit.pagination import Order, Window, count, sorted_page, window
from app.models.tasks import Task as TaskModel
from app.models.tasks import TaskKind, TaskStatus
from app.tasks import read, service
from app.tasks.records import Targets
from schema import permissions
from schema.accounts import Account, Contact, load_account, load_contact
from schema.activities import Activity
from schema.context import Context, Info
from schema.errors import UserError
from schema.leads import Lead, load_lead
from schema.relay import (
    Connection,
    Node,
    connection,
    decode_id,
    decode_optional,
    register_node,
    to_global_id,
)
from schema.users import User, load_user

strawberry.enum(TaskKind)
strawberry.enum(TaskStatus)
TASK_ORDER = Order.of(read.TASK_ORDER)


@strawberry.type
class Task(Node):
    kind: TaskKind
    title: str
    due_at: datetime
    remind_at: datetime | None
    status: TaskStatus
    completed_at: datetime | None
    owner_pk: strawberry.Private[int]
    account_pk: strawberry.Private[int | None]
    contact_pk: strawberry.Private[int | None]
    lead_pk: strawberry.Private[int | None]

    @classmethod
    def from_model(cls, row: TaskModel) -> Self:
        return cls(
            id=to_global_id("Task", row.id),
            kind=row.kind,
            title=row.title,
            due_at=row.due_at,
            remind_at=row.remind_at,
            status=row.status,
            completed_at=row.completed_at,
            owner_pk=row.owner_id,
            account_pk=row.account_id,
            contact_pk=row.contact_id,
            lead_pk=row.lead_id,
        )

    @strawberry.field(description="Null (with FORBIDDEN) for a caller who reads no people.")
    async def owner(self, info: Info) -> User | None:
        permissions.require(info.context, "Task.owner")
        return await load_user(info.context, self.owner_pk)

    @strawberry.field
    async def account(self, info: Info) -> Account | None:
        return await load_account(info.context, self.account_pk)

    @strawberry.field
    async def contact(self, info: Info) -> Contact | None:
        return (
            None if self.contact_pk is None else await load_contact(info.context, self.contact_pk)
        )

    @strawberry.field
    async def lead(self, info: Info) -> Lead | None:
        return None if self.lead_pk is None else await load_lead(info.context, self.lead_pk)


async def load_task(context: Context, pk: int) -> Task | None:
    """A task the viewer may read (their own, or one on an account they see), else None."""
    async with context.db() as session:
        row = await read.readable_task(session, context.actor, pk)
    return None if row is None else Task.from_model(row)


register_node("Task", "task.read", load_task)


@strawberry.input
class TaskFilter:
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Default: the viewer's own tasks."
    )
    status: list[TaskStatus] | None = None
    due_before: datetime | None = strawberry.field(default=None, description="Exclusive.")
    account_id: strawberry.ID | None = None
    lead_id: strawberry.ID | None = None

    def to_args(self) -> read.TaskFilter:
        return read.TaskFilter(
            owner_id=decode_optional(self.owner_id, "User", field="filter.ownerId"),
            status=self.status,
            due_before=self.due_before,
            account_id=decode_optional(self.account_id, "Account", field="filter.accountId"),
            lead_id=decode_optional(self.lead_id, "Lead", field="filter.leadId"),
        )


@strawberry.input(description="remindAt may not be after dueAt; ownerId defaults to the viewer.")
class CreateTaskInput:
    kind: TaskKind
    title: str
    due_at: datetime
    remind_at: datetime | None = None
    owner_id: strawberry.ID | None = None
    account_id: strawberry.ID | None = None
    contact_id: strawberry.ID | None = None
    lead_id: strawberry.ID | None = None

    def to_args(self) -> service.NewTask:
        targets = Targets(
            account_id=decode_optional(self.account_id, "Account", field="accountId"),
            contact_id=decode_optional(self.contact_id, "Contact", field="contactId"),
            lead_id=decode_optional(self.lead_id, "Lead", field="leadId"),
        )
        return service.NewTask(
            kind=self.kind,
            title=self.title,
            due_at=self.due_at,
            remind_at=self.remind_at,
            owner_id=decode_optional(self.owner_id, "User", field="ownerId"),
            targets=targets,
        )


@strawberry.input
class CompleteTaskInput:
    id: strawberry.ID
    occurred_at: datetime | None = strawberry.field(
        default=None, description="When the call, meeting or e-mail happened; default now."
    )
    summary: str | None = None


@strawberry.input
class CancelTaskInput:
    id: strawberry.ID


@strawberry.type
class TaskPayload:
    task: Task | None = None
    activity: Activity | None = strawberry.field(
        default=None, description="The activity a CALL, MEETING or EMAIL task logged."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


def _window(
    info: Info, first: int | None, after: str | None, last: int | None, before: str | None
) -> Window:
    limits = info.context.settings.limits
    size = {"default": limits.default_page_size, "maximum": limits.max_page_size}
    return window(first, after, last, before, **size)


@strawberry.type
class Query:
    @strawberry.field(
        description="Tasks by due time, then id; without filter.ownerId the viewer's own. "
        "Pages forward (first/after) or backward (last/before)."
    )
    @permissions.query("task.read")
    async def tasks(
        self,
        info: Info,
        filter: TaskFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Task]:
        pages = _window(info, first, after, last, before)
        given = filter.to_args() if filter else read.TaskFilter()
        async with info.context.db() as session:
            query = await read.tasks_query(session, info.context.actor, given)
            page = await sorted_page(
                session, query, order=TASK_ORDER, window=pages, whole_row=False
            )

        async def total() -> int:
            async with info.context.db() as session:
                return await count(session, query)

        return connection(page, Task.from_model, total)


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("task.create")
    async def create_task(self, info: Info, input: CreateTaskInput) -> TaskPayload:
        row = await service.create_task(
            info.context.session, actor=info.context.actor, new=input.to_args()
        )
        return TaskPayload(task=Task.from_model(row))

    @strawberry.mutation
    @permissions.mutation("task.update")
    async def complete_task(self, info: Info, input: CompleteTaskInput) -> TaskPayload:
        row, activity = await service.complete_task(
            info.context.session,
            actor=info.context.actor,
            task_id=decode_id(input.id, "Task"),
            now=info.context.now,
            occurred_at=input.occurred_at,
            summary=input.summary,
        )
        logged = None if activity is None else Activity.from_model(activity)
        return TaskPayload(task=Task.from_model(row), activity=logged)

    @strawberry.mutation
    @permissions.mutation("task.update")
    async def cancel_task(self, info: Info, input: CancelTaskInput) -> TaskPayload:
        row = await service.cancel_task(
            info.context.session, actor=info.context.actor, task_id=decode_id(input.id, "Task")
        )
        return TaskPayload(task=Task.from_model(row))
