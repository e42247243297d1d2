"""Webhooks (ADMIN): signed deliveries of the change events, with their delivery history."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from app.events import EventType
from app.models import webhooks as models
from app.models.webhooks import DeliveryStatus
from app.webhooks import service
from app.webhooks.worker import message_id
from schema import permissions
from schema.context import Context, Info
from schema.errors import UserError
from schema.relay import (
    Connection,
    Node,
    decode_id,
    list_connection,
    page_args,
    register_node,
    to_global_id,
)

strawberry.enum(EventType, name="WebhookEvent")
strawberry.enum(DeliveryStatus)


@strawberry.type
class WebhookDelivery(Node):
    event: EventType
    event_id: str
    status: DeliveryStatus
    attempts: int
    response_status: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def from_model(cls, row: models.WebhookDelivery) -> Self:
        return cls(
            id=to_global_id("WebhookDelivery", row.id),
            event=EventType(row.event),
            event_id=message_id(row.event_id),
            status=row.status,
            attempts=row.attempts,
            response_status=row.response_status,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            delivered_at=row.delivered_at,
            created_at=row.created_at,
        )


@strawberry.type
class Webhook(Node):
    url: str
    events: list[EventType]
    is_active: bool
    failing_since: datetime | None
    created_at: datetime
    pk: strawberry.Private[int]

    @classmethod
    def from_model(cls, row: models.Webhook) -> Self:
        return cls(
            id=to_global_id("Webhook", row.id),
            pk=row.id,
            url=row.url,
            events=[EventType(e) for e in row.events],
            is_active=row.is_active,
            failing_since=row.failing_since,
            created_at=row.created_at,
        )

    @strawberry.field(description="Deliveries, newest first.")
    async def deliveries(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        args = page_args(info, first, after)
        page, total = await info.context.loader(service.delivery_pages).load((self.pk, args))
        return list_connection(page, WebhookDelivery.from_model, total)


async def load_webhook(context: Context, pk: int) -> Webhook | None:
    row = await context.loader(service.webhooks_by_id).load(pk)
    return None if row is None else Webhook.from_model(row)


async def load_delivery(context: Context, pk: int) -> WebhookDelivery | None:
    row = await context.loader(service.deliveries_by_id).load(pk)
    return None if row is None else WebhookDelivery.from_model(row)


register_node("Webhook", "webhook.read", load_webhook)
register_node("WebhookDelivery", "webhook.read", load_delivery)


@strawberry.input
class CreateWebhookInput:
    url: str
    events: list[EventType]


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = None
    events: list[EventType] | None = None
    is_active: bool | None = None


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID


@strawberry.input
class RedeliverWebhookInput:
    delivery_id: strawberry.ID


@strawberry.type
class CreateWebhookPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret; shown only here, once."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteWebhookPayload:
    removed_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeliveryPayload:
    delivery: WebhookDelivery | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class Query:
    @strawberry.field(description="Every webhook, oldest first.")
    @permissions.query("webhook.read")
    async def webhooks(self, info: Info) -> list[Webhook]:
        async with info.context.db() as session:
            rows = await service.list_webhooks(session)
        return [Webhook.from_model(row) for row in rows]


def _allow_private(info: Info) -> bool:
    return info.context.settings.push.webhook_allow_private


@strawberry.type
class Mutation:
    @strawberry.mutation
    @permissions.mutation("webhook.write")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> CreateWebhookPayload:
        row, secret = await service.create_webhook(
            info.context.session,
            actor=info.context.actor,
            url=input.url,
            events=input.events,
            allow_private=_allow_private(info),
        )
        return CreateWebhookPayload(webhook=Webhook.from_model(row), secret=secret)

    @strawberry.mutation
    @permissions.mutation("webhook.write")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> WebhookPayload:
        row = await service.update_webhook(
            info.context.session,
            actor=info.context.actor,
            webhook_id=decode_id(input.id, "Webhook"),
            allow_private=_allow_private(info),
            url=input.url,
            events=input.events,
            is_active=input.is_active,
        )
        return WebhookPayload(webhook=Webhook.from_model(row))

    @strawberry.mutation
    @permissions.mutation("webhook.write")
    async def delete_webhook(self, info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
        removed = await service.delete_webhook(
            info.context.session,
            actor=info.context.actor,
            webhook_id=decode_id(input.id, "Webhook"),
        )
        return DeleteWebhookPayload(removed_id=to_global_id("Webhook", removed))

    @strawberry.mutation
    @permissions.mutation("webhook.write")
    async def redeliver_webhook(self, info: Info, input: RedeliverWebhookInput) -> DeliveryPayload:
        row = await service.redeliver(
            info.context.session,
            actor=info.context.actor,
            delivery_id=decode_id(input.delivery_id, "WebhookDelivery", field="deliveryId"),
        )
        return DeliveryPayload(delivery=WebhookDelivery.from_model(row))
