"""The outbox keeps events for the feed ACCOUNTFLOW_EVENT_RETENTION_DAYS (30), then prunes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.models.auth import Role
from app.models.webhooks import OutboxEvent
from app.settings import Settings, SettingsError
from app.webhooks import worker
from tests.accounts.factories import create_account
from tests.support import Api
from tests.sync.support import feed


def test_events_are_kept_30_days_unless_set_otherwise() -> None:
    assert Settings.from_env({}).push.event_retention == timedelta(days=30)
    env = {"ACCOUNTFLOW_EVENT_RETENTION_DAYS": "90"}
    assert Settings.from_env(env).push.event_retention == timedelta(days=90)
    with pytest.raises(SettingsError, match="ACCOUNTFLOW_EVENT_RETENTION_DAYS"):
        Settings.from_env({"ACCOUNTFLOW_EVENT_RETENTION_DAYS": "0"})


async def test_an_event_stays_in_the_feed_for_the_retention_and_goes_after(api: Api) -> None:
    erp = await api.caller(Role.INTEGRATION)
    await create_account(api.session, "Acme")
    now = datetime.now(UTC)
    assert await worker.prune(api.session, now=now + timedelta(days=29)) == 0
    await api.session.commit()
    assert (await feed(api, erp)).types == ["account.created"]
    assert await worker.prune(api.session, now=now + timedelta(days=31)) == 1
    await api.session.commit()
    assert (await feed(api, erp)).nodes == []


@pytest.mark.parametrize(("days", "left"), [(30, 1), (5, 0)])
async def test_the_worker_prunes_with_the_retention_it_is_given(
    api: Api, engine: AsyncEngine, days: int, left: int
) -> None:
    await create_account(api.session, "Acme")
    ten_days_ago = func.now() - timedelta(days=10)
    await api.session.execute(update(OutboxEvent).values(created_at=ten_days_ago))
    await api.session.commit()
    stop = asyncio.Event()
    running = asyncio.create_task(
        worker.run(
            db.create_sessionmaker(engine),
            stop=stop,
            allow_private=False,
            timeout_seconds=1,
            retention=timedelta(days=days),
        )
    )
    await asyncio.sleep(0.5)  # the pruner runs once as the worker starts
    stop.set()
    await running
    assert await api.session.scalar(select(func.count()).select_from(OutboxEvent)) == left
