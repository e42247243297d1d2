"""POST /ingest/activities reads its body line by line as chunks arrive: the same answer
for any chunking, and a long line sent in many small chunks costs linear time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import orjson

from app.models.auth import Role
from schema.relay import to_global_id
from tests.accounts.factories import create_account
from tests.support import Api, Caller

WHEN = "2026-03-01T09:00:00+00:00"


def _chunked(body: bytes, size: int) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]

    return chunks()


async def _post(api: Api, caller: Caller, body: bytes, size: int) -> httpx.Response:
    return await api.client.post(
        "/ingest/activities",
        content=_chunked(body, size),
        headers={"authorization": f"Bearer {caller.token}"},
    )


async def test_any_chunking_gives_the_same_lines(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    account = await create_account(api.session, "Acme")
    gid = to_global_id("Account", account.id)
    items = [
        {"accountId": gid, "kind": "NOTE", "occurredAt": WHEN, "summary": "s" * n}
        | {"source": "t", "externalId": str(n)}
        for n in (1, 50, 300)
    ]
    body = b"".join(orjson.dumps(i) + b"\n" for i in items) + b'{"kind": 1}\n\nnot json'
    answers = []
    for size in (1, 7, 64, len(body)):
        response = await _post(api, integration, body, size)
        assert response.status_code == 200, response.text
        answers.append([orjson.loads(line)["status"] for line in response.content.splitlines()])
    assert answers[0] == ["accepted"] * 3 + ["rejected"] * 3
    assert answers[1:] == [["duplicate"] * 3 + ["rejected"] * 3] * 3


async def _cpu_seconds(api: Api, caller: Caller, line_bytes: int) -> float:
    """Best of two: the CPU this process spends on a body of one line of `line_bytes`
    (rejected: its summary is too long), sent in 64-byte chunks."""
    line = orjson.dumps({"kind": "NOTE", "occurredAt": WHEN, "summary": "x" * line_bytes})
    best = float("inf")
    for _ in range(2):
        started = time.process_time()
        response = await _post(api, caller, line + b"\n", 64)
        best = min(best, time.process_time() - started)
        assert response.status_code == 200
        assert orjson.loads(response.content)["status"] == "rejected"
    return best


async def test_a_long_line_in_small_chunks_costs_linear_time(api: Api) -> None:
    integration = await api.caller(Role.INTEGRATION)
    await _cpu_seconds(api, integration, 1024)  # warm up
    small = await _cpu_seconds(api, integration, 256 * 1024)
    large = await _cpu_seconds(api, integration, 1024 * 1024)
    # 4 times the bytes: about 4 times the work when linear, 16 times when quadratic.
    assert large / small < 8, (small, large)
