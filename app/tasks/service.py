"""Creating, completing and cancelling tasks, each recorded by the one write path.

remindAt may not be after dueAt (a reminder after the deadline reminds of nothing); a task
due in the past is allowed (it is overdue at once). Completing a CALL, MEETING or EMAIL task
on an account logs the matching activity through logActivity, as the task's owner, so it
counts for cadence under the same rules (a REP logs only on accounts they hold); a TODO, or
a task on a lead alone, logs none. The owner completes or cancels a task; managers anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.activities.ingest import ActivityInput, log_activity
from app.db import rows_by_id
from app.errors import ForbiddenError, InvalidTransitionError, NotFoundError
from app.events import Event, EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.validation import Checks
from app.models.activities import Activity, ActivityKind
from app.models.tasks import Task, TaskKind, TaskStatus
from app.tasks.records import Targets, owner_for, resolve

# Completing or cancelling anyone's task, not just one's own.
MANAGE_ANY = "task.manage_any"
MAX_TITLE = 200
ACTIVITY_KINDS = {
    TaskKind.CALL: ActivityKind.CALL_OUTBOUND,
    TaskKind.MEETING: ActivityKind.MEETING,
    TaskKind.EMAIL: ActivityKind.EMAIL_SENT,
}

tasks_by_id = rows_by_id(Task)


@dataclass(frozen=True, slots=True)
class NewTask:
    kind: TaskKind
    title: str
    due_at: datetime
    remind_at: datetime | None = None
    owner_id: int | None = None
    targets: Targets = field(default_factory=Targets)


def task_data(task: Task) -> dict[str, Any]:
    gid = events.global_id
    return {
        "id": gid("Task", task.id),
        "kind": task.kind.value,
        "title": task.title,
        "status": task.status.value,
        "dueAt": events.iso(task.due_at),
        "remindAt": events.iso(task.remind_at),
        "ownerId": gid("User", task.owner_id),
        "accountId": gid("Account", task.account_id),
        "contactId": gid("Contact", task.contact_id),
        "leadId": gid("Lead", task.lead_id),
        "activityId": gid("Activity", task.activity_id),
    }


def task_event(kind: EventType, task: Task) -> Event:
    return Event(kind, task_data(task), account_id=task.account_id, object_key=f"Task:{task.id}")


def _clean(new: NewTask) -> tuple[str, datetime, datetime | None]:
    checks = Checks()
    title = checks.text("title", new.title, max_length=MAX_TITLE, required=True)
    due_at = checks.moment("dueAt", new.due_at)
    remind_at = checks.moment("remindAt", new.remind_at)
    if due_at is not None and remind_at is not None and remind_at > due_at:
        checks.fail("remindAt", "remindAt must not be after dueAt.")
    checks.raise_if_any()
    assert title is not None
    assert due_at is not None
    return title, due_at, remind_at


async def create_task(session: AsyncSession, *, actor: Actor, new: NewTask) -> Task:
    title, due_at, remind_at = _clean(new)
    owner_id = await owner_for(session, actor, new.owner_id)
    targets = await resolve(session, actor, new.targets)
    task = Task(
        kind=new.kind,
        title=title,
        due_at=due_at,
        remind_at=remind_at,
        owner_id=owner_id,
        account_id=targets.account_id,
        contact_id=targets.contact_id,
        lead_id=targets.lead_id,
        created_by_id=actor.user_id,
    )
    session.add(task)
    await session.flush()
    await session.refresh(task)
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("task.create", "Task", task.id, task_data(task)),
        events=task_event(EventType.TASK_CREATED, task),
    )
    return task


async def _open_task(session: AsyncSession, actor: Actor, task_id: int) -> Task:
    """The open task, locked; its owner or a manager acts on it."""
    query = select(Task).where(Task.id == task_id).with_for_update()
    task = (await session.scalars(query.execution_options(populate_existing=True))).one_or_none()
    if task is None:
        raise NotFoundError("Unknown task.", field="id")
    if task.owner_id != actor.user_id and not actor.may(MANAGE_ANY):
        raise ForbiddenError("You may only change your own tasks.", field="id")
    if task.status is not TaskStatus.OPEN:
        raise InvalidTransitionError(f"The task is {task.status.value}, not OPEN.", field="id")
    return task


async def _log(
    session: AsyncSession, actor: Actor, task: Task, occurred_at: datetime, summary: str | None
) -> Activity | None:
    kind = ACTIVITY_KINDS.get(task.kind)
    if kind is None or task.account_id is None:
        return None
    item = ActivityInput(
        kind=kind,
        occurred_at=occurred_at,
        account_id=task.account_id,
        user_id=task.owner_id,
        contact_id=task.contact_id,
        summary=summary or task.title,
    )
    activity, _ = await log_activity(session, actor=actor, item=item)
    return activity


async def complete_task(
    session: AsyncSession,
    *,
    actor: Actor,
    task_id: int,
    now: datetime,
    occurred_at: datetime | None = None,
    summary: str | None = None,
) -> tuple[Task, Activity | None]:
    task = await _open_task(session, actor, task_id)
    checks = Checks()
    when = checks.moment("occurredAt", occurred_at) or now
    summary = checks.text("summary", summary, max_length=2000)
    checks.raise_if_any()
    activity = await _log(session, actor, task, when, summary)
    task.status, task.completed_at = TaskStatus.DONE, now
    task.activity_id = None if activity is None else activity.id
    await _save(session, actor, task, "task.complete", EventType.TASK_COMPLETED)
    return task, activity


async def cancel_task(session: AsyncSession, *, actor: Actor, task_id: int) -> Task:
    task = await _open_task(session, actor, task_id)
    task.status = TaskStatus.CANCELLED
    await _save(session, actor, task, "task.cancel", EventType.TASK_CANCELLED)
    return task


async def _save(
    session: AsyncSession, actor: Actor, task: Task, action: str, kind: EventType
) -> None:
    task.updated_at = func.now()
    await session.flush()
    await session.refresh(task)
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit(action, "Task", task.id, {"status": task.status.value}),
        events=task_event(kind, task),
    )
