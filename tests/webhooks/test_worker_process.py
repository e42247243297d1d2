"""`accountflow worker` as a real process: killed mid-delivery, nothing is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from app.models.auth import Role
from app.models.webhooks import DeliveryStatus, WebhookDelivery
from app.settings import Settings
from app.web.app import create_app
from tests.support import Api
from tests.webhooks.receiver import Receiver
from tests.webhooks.support import create_webhook

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def worker_process(database_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
        "ACCOUNTFLOW_WEBHOOK_TIMEOUT": "2",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen([sys.executable, "-m", "app", "worker"], cwd=ROOT, env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


async def test_a_worker_killed_mid_delivery_loses_nothing(
    api: Api, receiver: Receiver, database_url: str
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    await api.op("CreateAccount", {"input": {"name": "Survivor"}}, caller=admin)
    receiver.delay = 1.5
    with worker_process(database_url) as first:
        _wait_for(lambda: len(receiver.arrived) == 1, 30)
        first.send_signal(signal.SIGKILL)  # mid-delivery: posted, no answer recorded
        first.wait()
    receiver.delay = 0
    with worker_process(database_url) as second:
        # The dead worker's lease (a batch's rounds of 2 s deadlines + 5 s: 31 s) ends, the
        # second worker retakes it.
        _wait_for(lambda: len(receiver.arrived) == 2, 60)
        _wait_for(lambda: len(receiver.received) >= 2, 10)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=20) == 0
    assert receiver.arrived[0] == receiver.arrived[1]  # the same webhook-id: a repeat
    delivery = await api.session.scalar(
        select(WebhookDelivery).execution_options(populate_existing=True)
    )
    assert delivery is not None
    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1  # the killed attempt was never recorded


async def test_the_server_runs_a_worker_unless_told_not_to(
    api: Api, receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    admin = await api.caller(Role.ADMIN)
    await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
    env = {
        "ACCOUNTFLOW_DATA_DIR": str(tmp_path),
        "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
        "ACCOUNTFLOW_WORKER": "1",
    }
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        await api.op("CreateAccount", {"input": {"name": "Served"}}, caller=admin)
        for _ in range(100):
            if receiver.received:
                break
            await asyncio.sleep(0.05)
    assert [r.json["data"]["name"] for r in receiver.received] == ["Served"]
    assert "ACCOUNTFLOW_WORKER" not in os.environ or os.environ["ACCOUNTFLOW_WORKER"] != "1"
