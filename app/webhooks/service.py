"""Webhooks (ADMIN): create with a secret shown once, change, delete, redeliver."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import redact
from app.db import rows_by_id
from app.errors import InvalidInputError, NotFoundError
from app.events import EventType
from app.kit import changes
from app.kit.actor import Actor
from app.kit.pagination import Page, PageArgs, partitioned_pages
from app.models.webhooks import DeliveryStatus, Webhook, WebhookDelivery
from app.webhooks import signing, urls

MAX_WEBHOOKS = 100


def _events(events: Sequence[EventType]) -> list[str]:
    if not events:
        raise InvalidInputError("Subscribe to at least one event.", field="events")
    return sorted({e.value for e in events})


async def _check_url(url: str, *, allow_private: bool) -> str:
    url = urls.check_shape(url)
    await urls.resolve_public(url, allow_private=allow_private)
    return url


async def create_webhook(
    session: AsyncSession,
    *,
    actor: Actor,
    url: str,
    events: Sequence[EventType],
    allow_private: bool,
) -> tuple[Webhook, str]:
    """The new webhook and its secret (kept to sign deliveries, shown only now)."""
    names = _events(events)
    url = await _check_url(url, allow_private=allow_private)
    if ((await session.scalar(select(func.count()).select_from(Webhook))) or 0) >= MAX_WEBHOOKS:
        raise InvalidInputError(f"At most {MAX_WEBHOOKS} webhooks.", field="url")
    secret = signing.new_secret()
    hook = Webhook(url=url, events=names, secret=secret, created_by_id=actor.user_id)
    session.add(hook)
    await session.flush()
    await session.refresh(hook)
    values = redact.changes(changes.created({"url": url, "events": names}))
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("webhook.create", "Webhook", hook.id, values),
        events=None,
    )
    return hook, secret


async def _locked(session: AsyncSession, webhook_id: int) -> Webhook:
    query = select(Webhook).where(Webhook.id == webhook_id).with_for_update()
    hook = await session.scalar(query.execution_options(populate_existing=True))
    if hook is None:
        raise NotFoundError("Unknown webhook.", field="id")
    return hook


async def update_webhook(
    session: AsyncSession,
    *,
    actor: Actor,
    webhook_id: int,
    allow_private: bool,
    url: str | None = None,
    events: Sequence[EventType] | None = None,
    is_active: bool | None = None,
) -> Webhook:
    hook = await _locked(session, webhook_id)
    after: dict[str, object] = {}
    if url is not None:
        after["url"] = await _check_url(url, allow_private=allow_private)
    if events is not None:
        after["events"] = _events(events)
    if is_active is not None:
        after["is_active"] = is_active
    before = {key: getattr(hook, key) for key in after}
    delta = changes.diff(before, after)
    if not delta:
        return hook
    for key, value in after.items():
        setattr(hook, key, value)
    if is_active:
        hook.failing_since = None  # switched back on: its failures start over
    await session.flush()
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("webhook.update", "Webhook", hook.id, redact.changes(delta)),
        events=None,
    )
    return hook


async def delete_webhook(session: AsyncSession, *, actor: Actor, webhook_id: int) -> int:
    hook = await _locked(session, webhook_id)
    await session.delete(hook)
    await session.flush()
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit(
            "webhook.delete",
            "Webhook",
            webhook_id,
            redact.changes(changes.diff({"url": hook.url}, {"url": None})),
        ),
        events=None,
    )
    return webhook_id


async def redeliver(
    session: AsyncSession, *, actor: Actor, delivery_id: int, now: datetime | None = None
) -> WebhookDelivery:
    """Send a delivery again (same webhook-id), now; its attempts keep counting."""
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    delivery = await session.scalar(query.execution_options(populate_existing=True))
    if delivery is None:
        raise NotFoundError("Unknown delivery.", field="deliveryId")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now or datetime.now(UTC)
    delivery.claimed_until = None
    await session.flush()
    await changes.record(
        session,
        actor=actor,
        audit=changes.Audit("webhook.redeliver", "WebhookDelivery", delivery.id),
        events=None,
    )
    return delivery


async def list_webhooks(session: AsyncSession) -> list[Webhook]:
    return list(await session.scalars(select(Webhook).order_by(Webhook.id)))


webhooks_by_id = rows_by_id(Webhook)
deliveries_by_id = rows_by_id(WebhookDelivery)


async def delivery_pages(
    session: AsyncSession, keys: Sequence[tuple[int, PageArgs]]
) -> list[tuple[Page[WebhookDelivery], int]]:
    """Per webhook, its deliveries newest first, with their count."""
    return await partitioned_pages(
        session, WebhookDelivery, partition="webhook_id", order=["id"], keys=keys, descending=True
    )
