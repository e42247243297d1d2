from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Tokens are checked again every second (revocation tests wait for it)."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_TOKEN_RECHECK_SECONDS": "1"}
    return Settings.from_env(env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def served(app: object, send_buffer: int | None = None) -> AsyncIterator[str]:
    """The app served by uvicorn in this process; yields its WebSocket URL. `send_buffer`
    sets SO_SNDBUF on the listening socket (its connections inherit it)."""
    sock = socket.socket()
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        ws="websockets-sansio",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def ws_url(app_engine: tuple[object, AsyncEngine]) -> AsyncIterator[str]:
    """The test's app (the one `api` talks to) served by uvicorn in this process."""
    async with served(app_engine[0]) as url:
        yield url


def _uvicorn(port: int) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "app.web.app:app_from_env", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ]


def serve_command(port: int) -> list[str]:
    """`accountflow serve`: uvicorn with the options the CLI gives it."""
    return [sys.executable, "-m", "app", "serve", "--no-worker", "--port", str(port)]


@contextmanager
def uvicorn_process(
    database_url: str,
    command: Callable[[int], list[str]] = _uvicorn,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """The real server (`app.web.app:app_from_env`) in its own process; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ACCOUNTFLOW_TOKEN_RECHECK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    process = subprocess.Popen(command(port), cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "the server process exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def two_servers(database_url: str) -> Iterator[tuple[str, str]]:
    with uvicorn_process(database_url) as first, uvicorn_process(database_url) as second:
        yield first, second
