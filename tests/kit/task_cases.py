"""The writers test's cases for tasks (issue 21): each mutation's audit row and event."""

from __future__ import annotations

from typing import Any

from app.models.tasks import TaskKind
from tests.kit.mutation_cases import case
from tests.kit.writers import World, gid
from tests.tasks.support import at, make_task, operations


async def _run(w: World, name: str, **input: Any) -> None:
    data = await w.api.data(operations()[name], {"input": input}, caller=w.admin)
    (payload,) = data.values()
    assert payload["errors"] == [], payload["errors"]


@case("createTask", "task.create", "Task", "task.created")
async def _create_task(w: World) -> None:
    account = await w.account()
    await w.mark()
    due, on = at(days=1).isoformat(), gid("Account", account.id)
    await _run(w, "CreateTask", kind="TODO", title="Do", dueAt=due, accountId=on)


@case("completeTask", "task.complete", "Task", "task.completed", {"activity.logged"})
async def _complete_task(w: World) -> None:
    account = await w.account()
    task = await make_task(
        w.session, w.admin.user_id, kind=TaskKind.CALL, due_at=at(), account_id=account.id
    )
    await w.mark()
    await _run(w, "CompleteTask", id=gid("Task", task.id))


@case("cancelTask", "task.cancel", "Task", "task.cancelled")
async def _cancel_task(w: World) -> None:
    task = await make_task(w.session, w.admin.user_id, due_at=at(days=1))
    await w.mark()
    await _run(w, "CancelTask", id=gid("Task", task.id))
