"""Every webhook operation of contract/push.graphql, as written, through the ASGI app."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import InvalidInputError
from app.events import EventType
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.models.webhooks import Webhook, WebhookDelivery
from app.webhooks import service
from app.webhooks.worker import Deliverer
from schema.relay import to_global_id
from tests.support import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import count, create_webhook, deliveries


async def test_create_shows_the_secret_once_and_lists_the_webhook(
    api: Api, receiver: Receiver
) -> None:
    admin = await api.caller(Role.ADMIN)
    created = await create_webhook(api, admin, receiver.url, ["STAGE_CHANGED", "ACCOUNT_CREATED"])
    hook = created["webhook"]
    assert created["secret"].startswith("whsec_")
    assert len(created["secret"]) == len("whsec_") + 32
    assert hook["url"] == receiver.url
    assert hook["events"] == ["ACCOUNT_CREATED", "STAGE_CHANGED"]
    assert hook["isActive"] is True
    assert hook["createdAt"] is not None
    listed = (await api.op("Webhooks", caller=admin))["webhooks"]
    assert listed == [
        {
            "id": hook["id"],
            "url": receiver.url,
            "events": ["ACCOUNT_CREATED", "STAGE_CHANGED"],
            "isActive": True,
            "failingSince": None,
            "deliveries": {"totalCount": 0, "edges": []},
        }
    ]
    assert "secret" not in str(listed)


async def test_update_changes_url_events_and_activity(api: Api, receiver: Receiver) -> None:
    admin = await api.caller(Role.ADMIN)
    hook = (await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"]))["webhook"]
    variables = {
        "input": {
            "id": hook["id"],
            "url": receiver.url + "?v=2",
            "events": ["LEAD_CREATED", "IMPORT_FINISHED"],
            "isActive": False,
        }
    }
    updated = (await api.op("UpdateWebhook", variables, caller=admin))["updateWebhook"]
    assert updated == {
        "webhook": {
            "id": hook["id"],
            "url": receiver.url + "?v=2",
            "events": ["IMPORT_FINISHED", "LEAD_CREATED"],
            "isActive": False,
        },
        "errors": [],
    }


async def test_bad_urls_and_events_are_user_errors_and_write_nothing(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    cases = [
        ("ftp://example.org/hook", ["ACCOUNT_CREATED"], "url"),
        ("not a url", ["ACCOUNT_CREATED"], "url"),
        ("https://user:pw@example.org/hook", ["ACCOUNT_CREATED"], "url"),
        ("https://example.org/hook", [], "events"),
    ]
    for url, events, field in cases:
        variables = {"input": {"url": url, "events": events}}
        payload = (await api.op("CreateWebhook", variables, caller=admin))["createWebhook"]
        assert payload["webhook"] is None
        assert payload["secret"] is None
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID_INPUT", field)]
    assert await count(api.session, Webhook) == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
async def test_private_addresses_are_refused_by_default(session: AsyncSession, url: str) -> None:
    with pytest.raises(InvalidInputError, match="private, loopback or link-local") as refused:
        await service.create_webhook(
            session, actor=SYSTEM, url=url, events=[EventType.ACCOUNT_CREATED], allow_private=False
        )
    assert refused.value.field == "url"
    await session.rollback()
    hook, _ = await service.create_webhook(
        session, actor=SYSTEM, url=url, events=[EventType.ACCOUNT_CREATED], allow_private=True
    )
    assert hook.id is not None
    await session.rollback()


async def test_only_admins_manage_webhooks(api: Api, receiver: Receiver) -> None:
    manager = await api.caller(Role.MANAGER)
    variables = {"input": {"url": receiver.url, "events": ["ACCOUNT_CREATED"]}}
    payload = (await api.op("CreateWebhook", variables, caller=manager))["createWebhook"]
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    assert await count(api.session, Webhook) == 0
    result = await api.gql("query { webhooks { id } }", caller=manager)
    assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_delete_removes_the_webhook_and_its_deliveries(api: Api, receiver: Receiver) -> None:
    admin = await api.caller(Role.ADMIN)
    hook = (await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"]))["webhook"]
    await api.op("CreateAccount", {"input": {"name": "Queued"}}, caller=admin)
    assert await count(api.session, WebhookDelivery) == 1
    removed = (await api.op("DeleteWebhook", {"input": {"id": hook["id"]}}, caller=admin))[
        "deleteWebhook"
    ]
    assert removed == {"removedId": hook["id"], "errors": []}
    assert await count(api.session, Webhook) == 0
    assert await count(api.session, WebhookDelivery) == 0
    again = (await api.op("DeleteWebhook", {"input": {"id": hook["id"]}}, caller=admin))[
        "deleteWebhook"
    ]
    assert [e["code"] for e in again["errors"]] == ["NOT_FOUND"]


async def test_deliveries_are_listed_and_redelivered(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await api.op("CreateAccount", {"input": {"name": "Once"}}, caller=admin)
    await deliverer.run_once()
    (delivery,) = await deliveries(api.session)
    data = (await api.op("Webhooks", caller=admin))["webhooks"][0]["deliveries"]
    assert data["totalCount"] == 1
    node = data["edges"][0]["node"]
    assert node["id"] == to_global_id("WebhookDelivery", delivery.id)
    assert node["event"] == "ACCOUNT_CREATED"
    assert node["eventId"] == f"evt_{delivery.event_id}"
    assert (node["status"], node["attempts"], node["responseStatus"]) == ("SUCCEEDED", 1, 204)
    assert node["nextAttemptAt"] is None
    assert node["deliveredAt"] is not None
    variables = {"input": {"deliveryId": node["id"]}}
    again = (await api.op("RedeliverWebhook", variables, caller=admin))["redeliverWebhook"]
    assert again == {
        "delivery": {"id": node["id"], "status": "PENDING", "attempts": 1},
        "errors": [],
    }
    assert await deliverer.run_once() == 1
    first, second = receiver.received
    assert first.body == second.body
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == node["eventId"]
    (delivery,) = await deliveries(api.session)
    assert delivery.attempts == 2
    unknown = {"input": {"deliveryId": to_global_id("WebhookDelivery", 999_999)}}
    missing = (await api.op("RedeliverWebhook", unknown, caller=admin))["redeliverWebhook"]
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [("NOT_FOUND", "deliveryId")]
