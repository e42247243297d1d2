"""The feed and the webhooks tell one event alike: the feed's id is the webhook-id header,
its type and data the body's."""

from __future__ import annotations

from app.accounts import lifecycle
from app.kit.actor import SYSTEM
from app.models.auth import Role
from app.webhooks.worker import Deliverer
from tests.accounts.factories import create_account, create_contact
from tests.support import Api
from tests.sync.support import feed
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_webhook


async def test_a_removed_contact_reads_the_same_in_the_feed_and_the_webhook(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin, erp = await api.caller(Role.ADMIN), await api.caller(Role.INTEGRATION)
    await create_webhook(api, admin, receiver.url, ["CONTACT_REMOVED"])
    contact = await create_contact(api.session, await create_account(api.session))
    await lifecycle.remove_contact(api.session, actor=SYSTEM, contact_id=contact.id)
    await api.session.commit()
    assert await deliverer.run_once() == 1
    (received,) = receiver.received
    (node,) = (await feed(api, erp, types=["CONTACT_REMOVED"])).nodes
    assert node["id"] == received.headers["webhook-id"]
    assert (node["type"], node["data"]) == (received.json["type"], received.json["data"])
    assert node["type"] == "contact.removed"
