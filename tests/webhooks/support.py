from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events import EventType
from app.models.webhooks import OutboxEvent, WebhookAttempt, WebhookDelivery
from tests.support import Api, Caller


async def create_webhook(
    api: Api, admin: Caller, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    variables = {"input": {"url": url, "events": events or [e.name for e in EventType]}}
    payload: dict[str, Any] = (await api.op("CreateWebhook", variables, caller=admin))[
        "createWebhook"
    ]
    assert payload["errors"] == []
    return payload


async def deliveries(session: AsyncSession) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id)
    return list(await session.scalars(query.execution_options(populate_existing=True)))


async def attempts(session: AsyncSession) -> list[WebhookAttempt]:
    query = select(WebhookAttempt).order_by(WebhookAttempt.id)
    return list(await session.scalars(query))


async def outbox(session: AsyncSession, type: EventType | None = None) -> list[OutboxEvent]:
    query = select(OutboxEvent).order_by(OutboxEvent.id)
    if type is not None:
        query = query.where(OutboxEvent.type == type.value)
    return list(await session.scalars(query))


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)
