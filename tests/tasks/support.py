"""The tasks tests' operations (issue 21's contract) and arrangements through the services."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from graphql import OperationDefinitionNode, parse, print_ast
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.actor import SYSTEM
from app.models.tasks import Task, TaskKind
from app.models.teams import OrgSetting
from app.tasks import service
from app.tasks.records import Targets
from tests.support import CONTRACT, Api, Caller, contract_operations

# Until the lead copies it into tests/contract/ (then contract_operations() has it).
SHARED = Path("/work/shared/contract/teams.graphql")


@functools.cache
def operations() -> dict[str, str]:
    found = contract_operations()
    if "CreateTask" in found:
        return found
    path = CONTRACT / "teams.graphql"
    text = (path if path.exists() else SHARED).read_text()
    named: dict[str, str] = {}
    for definition in parse(text).definitions:
        assert isinstance(definition, OperationDefinitionNode)
        assert definition.name is not None
        named[definition.name.value] = print_ast(definition)
    return named


async def op(api: Api, name: str, variables: dict[str, Any], *, caller: Caller) -> Any:
    """The operation's data (no GraphQL errors)."""
    return await api.data(operations()[name], variables, caller=caller)


async def payload(api: Api, name: str, caller: Caller, **input: Any) -> dict[str, Any]:
    """A mutation's payload, errors or not."""
    data = await op(api, name, {"input": input}, caller=caller)
    (found,) = data.values()
    result: dict[str, Any] = found
    return result


def at(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


async def make_task(
    session: AsyncSession,
    owner_id: int,
    *,
    due_at: datetime,
    kind: TaskKind = TaskKind.TODO,
    title: str = "Task",
    account_id: int | None = None,
    remind_at: datetime | None = None,
) -> Task:
    new = service.NewTask(
        kind=kind,
        title=title,
        due_at=due_at,
        remind_at=remind_at,
        owner_id=owner_id,
        targets=Targets(account_id=account_id),
    )
    task = await service.create_task(session, actor=SYSTEM, new=new)
    await session.commit()
    return task


async def set_visibility(session: AsyncSession, value: str) -> None:
    await session.execute(insert(OrgSetting).values(name="record_visibility", value=value))
    await session.commit()
