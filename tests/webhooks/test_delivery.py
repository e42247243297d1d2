"""Deliveries to a real receiver: signed, retried on schedule, in order, never lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from app.models.auth import Role
from app.models.webhooks import DeliveryStatus, Webhook, WebhookDelivery
from app.webhooks import worker
from app.webhooks.worker import Deliverer
from tests.support import Api
from tests.webhooks.conftest import Clock
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import attempts, create_webhook, deliveries, outbox


async def _account(api: Api, name: str, caller_role: Role = Role.MANAGER) -> str:
    caller = await api.caller(caller_role)
    payload = (await api.op("CreateAccount", {"input": {"name": name}}, caller=caller))[
        "createAccount"
    ]
    assert payload["errors"] == []
    account_id: str = payload["account"]["id"]
    return account_id


async def test_a_change_is_delivered_signed_as_the_reference_library_verifies(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    hook = await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    account_id = await _account(api, "Signed Co")
    assert await deliverer.run_once() == 1
    (got,) = receiver.received
    payload = Verifier(hook["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "account.created"
    assert payload["data"]["id"] == account_id
    assert payload["data"]["name"] == "Signed Co"
    assert got.headers["webhook-id"].startswith("evt_")
    assert got.headers["webhook-signature"].startswith("v1,")
    assert hook["secret"].startswith("whsec_")
    (delivery,) = await deliveries(api.session)
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.response_status == 204
    (attempt,) = await attempts(api.session)
    assert attempt.response_status == 204
    assert attempt.latency_ms > 0


async def test_each_webhook_signs_with_its_own_secret(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    first = await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    other = await create_webhook(api, admin, receiver.url + "?other", ["ACCOUNT_CREATED"])
    await _account(api, "Two Hooks")
    assert await deliverer.run_once() == 2
    by_secret = {first["secret"]: 0, other["secret"]: 0}
    for got in receiver.received:
        for secret in by_secret:
            try:
                Verifier(secret).verify(got.body, got.headers)
            except WebhookVerificationError:
                continue
            by_secret[secret] += 1
    assert by_secret == {first["secret"]: 1, other["secret"]: 1}


async def test_a_rolled_back_change_is_never_delivered(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_UPDATED", "ACCOUNT_CREATED"])
    account_id = await _account(api, "Rollback Co")
    await deliverer.run_once()
    manager = await api.caller(Role.MANAGER)
    # A stale expectedVersion: the update fails and writes nothing.
    variables = {"input": {"id": account_id, "name": "Renamed", "expectedVersion": 99}}
    failed = (await api.op("UpdateAccount", variables, caller=manager))["updateAccount"]
    assert [e["code"] for e in failed["errors"]] == ["CONFLICT"]
    assert await deliverer.run_once() == 0
    assert [r.json["type"] for r in receiver.received] == ["account.created"]
    assert len(await deliveries(api.session)) == 1


async def test_failures_are_retried_on_schedule_then_given_up(
    api: Api, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Flaky Co")
    receiver.default = 500
    start = clock.now
    assert await deliverer.run_once() == 1
    (delivery,) = await deliveries(api.session)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.attempts == 1
    assert delivery.response_status == 500
    assert delivery.next_attempt_at is not None
    wait = delivery.next_attempt_at - start
    assert timedelta(seconds=4) <= wait <= timedelta(seconds=6)  # 5 s with jitter
    assert await deliverer.run_once() == 0  # not due yet
    for _ in range(worker.ATTEMPTS - 1):
        (delivery,) = await deliveries(api.session)
        assert delivery.next_attempt_at is not None
        clock.now = delivery.next_attempt_at
        assert await deliverer.run_once() == 1
    (delivery,) = await deliveries(api.session)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == worker.ATTEMPTS == 8
    assert delivery.next_attempt_at is None
    assert len(receiver.received) == 8
    assert timedelta(hours=22) < clock.now - start < timedelta(hours=34)
    row = await api.session.execute(select(Webhook.is_active, Webhook.failing_since))
    is_active, failing_since = row.one()
    assert failing_since is not None
    assert is_active is False  # failing for over a day: switched off
    assert start <= failing_since < start + timedelta(seconds=5)


async def test_a_success_after_failures_clears_failing_since(
    api: Api, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Recovers Co")
    receiver.statuses.extend([503, 500])
    for _ in range(3):
        (delivery,) = await deliveries(api.session)
        assert delivery.next_attempt_at is not None
        clock.now = delivery.next_attempt_at
        await deliverer.run_once()
        data = (await api.op("Webhooks", caller=admin))["webhooks"][0]
        if delivery.attempts < 2:
            assert data["failingSince"] is not None
    assert data["failingSince"] is None
    assert data["isActive"] is True
    node = data["deliveries"]["edges"][0]["node"]
    assert (node["status"], node["attempts"], node["responseStatus"]) == ("SUCCEEDED", 3, 204)
    assert [a.response_status for a in await attempts(api.session)] == [503, 500, 204]


async def test_a_redirect_is_not_followed(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Moved Co")
    receiver.statuses.append(302)
    receiver.headers_out["location"] = receiver.url + "/elsewhere"
    await deliverer.run_once()
    assert len(receiver.received) == 1
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.PENDING, 302)
    assert delivery.last_error == "HTTP 302"


async def test_a_slow_receiver_times_out_and_is_retried(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Slow Co")
    receiver.delay = 1.5  # the deliverer's client gives up after 1 s
    await deliverer.run_once()
    (delivery,) = await deliveries(api.session)
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.response_status is None
    assert delivery.last_error is not None
    assert "Timeout" in delivery.last_error


async def test_an_unreachable_receiver_does_not_slow_the_request(
    api: Api, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, "http://127.0.0.1:9/down", ["ACCOUNT_CREATED"])
    await _account(api, "Fast Co")  # returns without any delivery attempt
    (delivery,) = await deliveries(api.session)
    assert delivery.attempts == 0
    await deliverer.run_once()
    (delivery,) = await deliveries(api.session)
    assert delivery.attempts == 1
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.last_error is not None
    assert delivery.last_error.startswith("ConnectError")


async def test_a_receiver_down_for_an_hour_gets_every_event_in_order_per_object(
    api: Api, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED", "ACCOUNT_UPDATED"])
    manager = await api.caller(Role.MANAGER)
    receiver.default = 503
    ids = [await _account(api, f"Order {i}") for i in range(3)]
    for round_ in range(4):
        for account_id in ids:
            variables = {"input": {"id": account_id, "name": f"Order {account_id} r{round_}"}}
            await api.op("UpdateAccount", variables, caller=manager)
        await deliverer.run_once()
        clock.now += timedelta(minutes=15)
    # Only the first event of each account was tried (and retried): the rest wait behind it.
    down = len(receiver.received)
    assert down >= 6
    assert {r.json["type"] for r in receiver.received} == {"account.created"}
    receiver.default = 204
    clock.now += timedelta(hours=3)
    while await deliverer.run_once():
        pass
    by_account: dict[str, list[str]] = {}
    for got in receiver.received[down:]:
        by_account.setdefault(got.json["data"]["id"], []).append(got.json["data"]["name"])
    assert sorted(by_account) == sorted(ids)
    for n, account_id in enumerate(ids):
        expected = [f"Order {n}", *(f"Order {account_id} r{r}" for r in range(4))]
        assert by_account[account_id] == expected
    statuses = {d.status for d in await deliveries(api.session)}
    assert statuses == {DeliveryStatus.SUCCEEDED}


async def test_a_killed_workers_claim_expires_and_another_worker_delivers(
    api: Api, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Crash Co")
    # A worker claimed it and died before posting or recording anything.
    claimed_until = clock.now + timedelta(seconds=60)
    await api.session.execute(update(WebhookDelivery).values(claimed_until=claimed_until))
    await api.session.commit()
    assert await deliverer.run_once() == 0
    clock.now = claimed_until + timedelta(seconds=1)
    assert await deliverer.run_once() == 1
    assert len(receiver.received) == 1
    (delivery,) = await deliveries(api.session)
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert delivery.claimed_until is None


async def test_a_disabled_webhook_gets_nothing_and_new_events_are_not_queued(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    admin = await api.caller(Role.ADMIN)
    hook = await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    variables = {"input": {"id": hook["webhook"]["id"], "isActive": False}}
    await api.op("UpdateWebhook", variables, caller=admin)
    await _account(api, "Quiet Co")
    assert await deliverer.run_once() == 0
    assert await deliveries(api.session) == []
    assert receiver.received == []


async def test_old_events_are_pruned_unless_a_delivery_waits(
    api: Api, receiver: Receiver, deliverer: Deliverer, clock: Clock
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await _account(api, "Delivered")
    await deliverer.run_once()
    receiver.default = 500
    await _account(api, "Waiting")
    await deliverer.run_once()
    later = clock.now + worker.RETENTION + timedelta(hours=1)
    assert await worker.prune(api.session, now=clock.now) == 0
    assert await worker.prune(api.session, now=later) == 1
    await api.session.commit()
    (left,) = await deliveries(api.session)
    assert left.status is DeliveryStatus.PENDING
    assert [e.data["name"] for e in await outbox(api.session)] == ["Waiting"]
