"""What a delivery costs the worker; kept connections a receiver closed; slots per host.

The receiver is bench/push_receiver.py under uvicorn in a process of its own (HTTP/1.1,
keep-alive), so the CPU counted here is the deliverer's alone: claiming, signing, posting
and recording.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.models.auth import Role
from app.models.webhooks import DeliveryStatus
from app.webhooks import worker
from app.webhooks.worker import Deliverer
from tests.support import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import attempts, create_webhook, deliveries
from tests.webhooks.test_hostile_receivers import NO_CONTENT, RawReceiver, Reply, raw_receiver

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 600
# main's httpx client cost about 1.2 ms of CPU per delivery here (claim and record included)
CPU_PER_DELIVERY_MS = 0.6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def keep_alive_receiver() -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.push_receiver:app", "--port", str(port)]
    child = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the receiver did not start"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        child.terminate()
        child.wait(timeout=10)


async def _queue(api: Api, url: str, events: int) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, url, ["ACCOUNT_UPDATED"])
    statement = """
        INSERT INTO outbox (type, object_key, account_id, data)
        SELECT 'account.updated', 'Account:' || i, NULL,
               jsonb_build_object('id', 'QWNjb3VudDo' || i, 'name', 'Account ' || i)
        FROM generate_series(1, :events) i
    """
    await api.session.execute(text(statement), {"events": events})
    await api.session.commit()


async def test_a_delivery_costs_the_worker_under_0_6_ms_of_cpu(
    api: Api, deliverer: Deliverer, keep_alive_receiver: str
) -> None:
    await _queue(api, keep_alive_receiver, EVENTS)
    started = time.process_time()
    delivered = 0
    while found := await deliverer.run_once():
        delivered += found
    cpu_ms = (time.process_time() - started) * 1000
    assert delivered == EVENTS
    statuses = {d.status for d in await deliveries(api.session)}
    assert statuses == {DeliveryStatus.SUCCEEDED}
    assert cpu_ms / EVENTS < CPU_PER_DELIVERY_MS, f"{cpu_ms / EVENTS:.3f} ms per delivery"


def closing_after_each(receiver: RawReceiver) -> Reply:
    """A 204 that promises keep-alive, then the connection closed 50 ms later."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        await receiver.write(writer, NO_CONTENT)
        await asyncio.sleep(0.05)

    return reply


async def test_a_kept_connection_the_receiver_closed_costs_no_attempt(
    api: Api, deliverer: Deliverer
) -> None:
    async with raw_receiver(closing_after_each) as receiver:
        await _queue(api, receiver.url, 1)
        assert await deliverer.run_once() == 1
        await asyncio.sleep(0.2)  # the receiver has closed the kept connection
        await _more(api)
        assert await deliverer.run_once() == 1
        assert receiver.requests == 2
    statuses = [(d.status, d.attempts) for d in await deliveries(api.session)]
    assert statuses == [(DeliveryStatus.SUCCEEDED, 1), (DeliveryStatus.SUCCEEDED, 1)]


async def _more(api: Api) -> None:
    statement = """
        INSERT INTO outbox (type, object_key, account_id, data)
        VALUES ('account.updated', 'Account:more', NULL, '{"id": "more"}')
    """
    await api.session.execute(text(statement))
    await api.session.commit()


async def test_a_delivery_waiting_for_a_slot_still_gets_its_whole_deadline(
    api: Api, receiver: Receiver, deliverer: Deliverer
) -> None:
    """PER_HOST + 1 deliveries to a receiver answering in 0.6 s, a 1 s deadline: the last
    one waits 0.6 s for a slot, then has its full second."""
    receiver.delay = 0.6
    await _queue(api, receiver.url, worker.PER_HOST + 1)
    assert await deliverer.run_once() == worker.PER_HOST + 1
    assert len(receiver.received) == worker.PER_HOST + 1
    found = [(d.status, d.response_status) for d in await deliveries(api.session)]
    assert found == [(DeliveryStatus.SUCCEEDED, 204)] * (worker.PER_HOST + 1)
    assert all(a.latency_ms < 1_000 for a in await attempts(api.session))
