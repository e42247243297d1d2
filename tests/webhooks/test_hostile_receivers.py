"""Receivers that answer slowly or at length: one deadline per attempt, a bounded read.

The receivers here are small asyncio servers on 127.0.0.1 speaking raw HTTP/1.1, so they
can trickle an answer a byte at a time or send more than anyone should read.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db
from app.models.auth import Role
from app.models.webhooks import DeliveryStatus
from app.webhooks import worker
from app.webhooks.worker import Deliverer
from tests.support import Api
from tests.webhooks.support import attempts, create_webhook, deliveries

Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]
NO_CONTENT = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"
BODY_BYTES = 64 * 1024 * 1024


@dataclass
class RawReceiver:
    """Reads each request whole, then lets `reply` write the answer."""

    reply: Reply
    requests: int = 0
    sent: int = 0  # bytes of the answer the socket took
    server: asyncio.Server | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            self.requests += 1
            await self.reply(writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the deliverer hung up
        except asyncio.CancelledError:
            pass  # stopped at the test's end; ending quietly spares asyncio's callback a log
        finally:
            writer.close()
            self.tasks.discard(task)

    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)

    async def trickle(self, writer: asyncio.StreamWriter, data: bytes, every: float) -> None:
        for byte in data:
            await self.write(writer, bytes([byte]))
            await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def raw_receiver(make_reply: Callable[[RawReceiver], Reply]) -> AsyncIterator[RawReceiver]:
    found = RawReceiver(reply=lambda writer: asyncio.sleep(0))
    found.reply = make_reply(found)
    found.server = await asyncio.start_server(found._serve, "127.0.0.1", 0)
    try:
        yield found
    finally:
        found.server.close()
        for task in list(found.tasks):
            task.cancel()
        await asyncio.gather(*found.tasks, return_exceptions=True)


def trickled_status(receiver: RawReceiver) -> Reply:
    """The status line and headers, a byte every 0.25 s: 11 s for the whole answer."""
    return lambda writer: receiver.trickle(writer, NO_CONTENT, 0.25)


def trickled_body(receiver: RawReceiver) -> Reply:
    """`200 OK` at once, then a 40-byte body a byte every 0.25 s."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        await receiver.write(writer, b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\n\r\n")
        await receiver.trickle(writer, b"x" * 40, 0.25)

    return reply


async def _wait_for_attempt_or_repeat(api: Api, receiver: RawReceiver) -> None:
    """Until the attempt is recorded, or the receiver was sent the delivery again."""
    for _ in range(240):
        await api.session.rollback()
        if receiver.requests > 1 or await attempts(api.session):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("neither an attempt nor a repeat within 12 s")


@pytest.mark.parametrize(
    ("reply", "status", "code"),
    [
        (trickled_status, DeliveryStatus.PENDING, None),
        (trickled_body, DeliveryStatus.SUCCEEDED, 200),
    ],
)
async def test_a_trickling_receiver_gets_one_attempt_within_the_deadline(
    api: Api,
    engine: AsyncEngine,
    reply: Callable[[RawReceiver], Reply],
    status: DeliveryStatus,
    code: int | None,
) -> None:
    """httpx's timeout is per read: a byte every 0.25 s never trips a 1 s timeout, and
    the attempt outlived its lease (2 x timeout + 5 s on main) and was sent again."""
    async with raw_receiver(reply) as receiver:
        admin = await api.caller(Role.ADMIN)
        await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
        await api.op("CreateAccount", {"input": {"name": "Trickle Co"}}, caller=admin)
        stop = asyncio.Event()
        run = worker.run(
            db.create_sessionmaker(engine),
            stop=stop,
            allow_private=True,
            timeout_seconds=1.0,
            lanes=2,
            idle_seconds=0.1,
        )
        lanes = asyncio.create_task(run)
        try:
            await _wait_for_attempt_or_repeat(api, receiver)
        finally:
            stop.set()
            await lanes
        assert receiver.requests == 1
    (attempt,) = await attempts(api.session)
    assert attempt.latency_ms < 1_600
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (status, code)
    if code is None:
        assert delivery.last_error == "TimeoutError: no answer within 1 s"


def endless_body(receiver: RawReceiver) -> Reply:
    """`200 OK` and a 64 MiB body, as fast as the socket takes it."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        await receiver.write(
            writer, f"HTTP/1.1 200 OK\r\ncontent-length: {BODY_BYTES}\r\n\r\n".encode()
        )
        chunk = b"x" * 65_536
        for _ in range(BODY_BYTES // len(chunk)):
            await receiver.write(writer, chunk)

    return reply


async def test_a_long_answer_is_not_read_to_its_end(api: Api, deliverer: Deliverer) -> None:
    async with raw_receiver(endless_body) as receiver:
        admin = await api.caller(Role.ADMIN)
        await create_webhook(api, admin, receiver.url, ["ACCOUNT_CREATED"])
        await api.op("CreateAccount", {"input": {"name": "Verbose Co"}}, caller=admin)
        started = time.monotonic()
        await deliverer.run_once()
        took = time.monotonic() - started
        for _ in range(100):  # the receiver notices the closed connection
            if not receiver.tasks:
                break
            await asyncio.sleep(0.05)
        assert receiver.requests == 1
        # What the kernel's buffers held at most, far from the whole body.
        assert receiver.sent < BODY_BYTES // 4
    assert took < 2
    (delivery,) = await deliveries(api.session)
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.SUCCEEDED, 200)
    assert [a.response_status for a in await attempts(api.session)] == [200]
