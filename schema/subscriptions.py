"""graphql-transport-ws subscriptions, fed by the outbox, which app.fanout polls.

Each message is resolved like a query of its own: a fresh session and fresh DataLoaders,
the token checked again (a revoked token's connection is closed), the role rules of every
field applied as on /graphql. A subscription is priced as a query before it listens
(refused over the cost limit) and that price is charged to the viewer's budget for every
event it delivers (schema.engine.ws_limits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.tokens import Principal
from app.errors import AppError
from app.events import EventType, pk_of
from app.fanout import Change, Hub, Subscriber
from schema import permissions, visibility
from schema.activities import Activity, load_activity
from schema.cadence import Assignment, load_assignment
from schema.context import Context, Info
from schema.engine.ws_limits import check_cost, rate_limited
from schema.handoff.types import StageEvent, load_event
from schema.relay import decode_optional, to_global_id
from schema.tasks import Task, load_task

T = TypeVar("T")
Close = Callable[[int, str], Awaitable[None]]


@dataclass(slots=True)
class Live:
    hub: Hub
    sessionmaker: async_sessionmaker[AsyncSession]
    # The edge's token check (stamping its use), or None once the token is refused.
    authenticate: Callable[[], Awaitable[Principal | None]]
    close: Close
    recheck_seconds: float
    # Charges a delivered event's cost to the viewer's budget; False once it is spent.
    spend: Callable[[int], bool]
    # Called when the hub drops this subscriber for falling `queue_size` events behind.
    slow: Callable[[], None]
    queue_size: int
    cost: int = 0  # the subscription's price, paid per event


@dataclass(slots=True)
class LiveContext(Context):
    live: Live | None = None


def _forbidden() -> GraphQLError:
    return GraphQLError(permissions.FORBIDDEN_MESSAGE, extensions={"code": "FORBIDDEN"})


def _live(info: Info, action: str) -> tuple[LiveContext, Live]:
    context = info.context
    if not isinstance(context, LiveContext) or context.live is None:
        raise GraphQLError("Subscriptions need a graphql-transport-ws connection.")
    context.live.cost = check_cost(info, context.settings.limits)
    if not permissions.allowed(context, action):
        raise _forbidden()
    return context, context.live


async def _next(subscriber: Subscriber, seconds: float) -> Change | None:
    """The subscriber's next change, or None after `seconds` without one."""
    try:
        return await asyncio.wait_for(subscriber.queue.get(), seconds)
    except TimeoutError:
        return None


async def _stream(
    context: LiveContext,
    live: Live,
    action: str,
    types: frozenset[str],
    keep: Callable[[Change], bool],
    load: Callable[[Context, int], Awaitable[T | None]],
    type_name: str,
) -> AsyncIterator[T]:
    checked = time.monotonic()
    listening = live.hub.subscribe(types, queue_size=live.queue_size, on_overflow=live.slow)
    async with listening as subscriber:
        while True:
            change = await _next(subscriber, live.recheck_seconds)
            if change is not None and not keep(change):
                continue
            if change is not None and not live.spend(live.cost):
                raise rate_limited()
            async with live.sessionmaker() as session:
                if time.monotonic() - checked >= live.recheck_seconds:
                    if not await _recheck(context, live, action, session):
                        await live.close(4403, "Forbidden")
                        return
                    checked = time.monotonic()
                if change is None:
                    continue
                context.session = session
                context.now = datetime.now(UTC)  # each message is answered as of its own time
                context._loaders.clear()
                context.visibility = None  # read again: an ADMIN may have changed it
                pk = pk_of(change.data["id"])
                found = await load(context, pk)
                if found is not None and await visibility.shows_row(context, type_name, pk, found):
                    # The message is resolved with this session before the loop resumes.
                    yield found


async def _recheck(context: LiveContext, live: Live, action: str, session: AsyncSession) -> bool:
    """The token (revoked, expired, user deactivated?) and the role (changed?) again."""
    principal = await live.authenticate()
    if principal is None or principal.user.role not in permissions.POLICY[action].roles:
        return False
    viewer = await session.merge(principal.user, load=False)
    context.viewer, context.role = viewer, viewer.role
    return True


def _pk(global_id: strawberry.ID | None, type_name: str, *, field: str) -> int | None:
    try:
        return decode_optional(global_id, type_name, field=field)
    except AppError as error:
        raise GraphQLError(error.message, extensions={"code": error.code, "field": field}) from None


def _data_is(key: str, value: Any) -> Callable[[Change], bool]:
    return lambda change: value is None or change.data.get(key) == value


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Stage changes of one pipeline, as they commit.")
    async def stage_changed(
        self, info: Info, pipeline: str | None = "default"
    ) -> AsyncGenerator[StageEvent, None]:
        action = "handoff.read"
        context, live = _live(info, action)
        keep = _data_is("pipeline", pipeline or "default")
        types = frozenset({EventType.STAGE_CHANGED.value})
        async for found in _stream(context, live, action, types, keep, load_event, "StageEvent"):
            yield found

    @strawberry.subscription(description="Handoffs to the viewer, as they are requested.")
    async def handoff_requested(self, info: Info) -> AsyncGenerator[StageEvent, None]:
        action = "handoff.read"
        context, live = _live(info, action)
        keep = _data_is("toOwnerId", to_global_id("User", context.viewer.id))
        types = frozenset({EventType.HANDOFF_REQUESTED.value})
        async for found in _stream(context, live, action, types, keep, load_event, "StageEvent"):
            yield found

    @strawberry.subscription(
        description="Assignments of a user (default: the viewer) that changed or went overdue."
    )
    async def cadence_changed(
        self, info: Info, user_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Assignment, None]:
        action = "assignment.read"
        context, live = _live(info, action)
        user_pk = _pk(user_id, "User", field="userId") or context.viewer.id
        keep = _data_is("userId", to_global_id("User", user_pk))
        types = frozenset({EventType.ASSIGNMENT_CHANGED.value, EventType.CADENCE_OVERDUE.value})
        async for found in _stream(
            context, live, action, types, keep, load_assignment, "Assignment"
        ):
            yield found

    @strawberry.subscription(description="Logged activities, of one account or all.")
    async def activity_logged(
        self, info: Info, account_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Activity, None]:
        action = "activity.read"
        context, live = _live(info, action)
        _pk(account_id, "Account", field="accountId")
        keep = _data_is("accountId", account_id)
        types = frozenset({EventType.ACTIVITY_LOGGED.value})
        async for found in _stream(context, live, action, types, keep, load_activity, "Activity"):
            yield found

    @strawberry.subscription(
        description="The viewer's tasks as their reminder (or due) time comes; managers hear all."
    )
    async def task_due(self, info: Info) -> AsyncGenerator[Task, None]:
        action = "task.read"
        context, live = _live(info, action)
        everyone = permissions.allowed(context, "task.read_any")
        keep = _data_is("ownerId", None if everyone else to_global_id("User", context.viewer.id))
        types = frozenset({EventType.TASK_DUE.value})
        async for found in _stream(context, live, action, types, keep, load_task, "Task"):
            yield found
