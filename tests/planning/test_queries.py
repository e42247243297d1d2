"""The number of SQL statements per request does not grow with the number of plans."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.planning import items
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.planning.factories import create_plan
from tests.support import Api


async def _statements(api: Api, engine: AsyncEngine, account_id: int) -> int:
    manager = await api.caller(Role.MANAGER)
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await api.op("AccountPlanning", {"id": to_global_id("Account", account_id)}, caller=manager)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    return len(seen)


async def test_account_planning_statements_do_not_grow_with_plans(
    api: Api, app_engine: tuple[object, AsyncEngine]
) -> None:
    _, engine = app_engine
    small = await create_account(api.session, "Small")
    big = await create_account(api.session, "Big")
    for account, plans in ((small, 2), (big, 8)):
        for _ in range(plans):
            plan = await create_plan(api.session, account)
            await items.add_goal(api.session, actor=SYSTEM, plan_id=plan.id, title="Grow")
            await items.add_action(api.session, actor=SYSTEM, plan_id=plan.id, title="Call")
            await api.session.commit()

    big_count = await _statements(api, engine, big.id)
    small_count = await _statements(api, engine, small.id)
    assert big_count == small_count, (big_count, small_count)
    assert small_count > 5  # the listener sees the loaders' statements
