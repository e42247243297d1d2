"""Real server processes (uvicorn, the app factory) for the operations tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support import Caller, contract_operations

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Server:
    base: str
    process: subprocess.Popen[bytes]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> float:
        """Send the signal; the seconds until the process exited."""
        started = time.monotonic()
        self.process.send_signal(signum)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


@contextmanager
def server(database_url: str, data_dir: Path, **env: str) -> Iterator[Server]:
    """`uvicorn app.web.app:app_from_env` on a free port, started and healthy."""
    port = free_port()
    environ = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ACCOUNTFLOW_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **env,
    }
    command = [sys.executable, "-m", "uvicorn", "app.web.app:app_from_env", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=environ)
    running = Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_healthy(running: Server) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{running.base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert running.process.poll() is None, "the server process exited"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


async def wait_until(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def start_import(
    client: httpx.AsyncClient, caller: Caller, content: bytes, **input: object
) -> str:
    """startImport over multipart, as a client sends it; the job's global id."""
    operations = {
        "query": contract_operations()["StartImport"],
        "variables": {"input": {"kind": "ACCOUNTS", "file": None, **input}},
    }
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": ("accounts.csv", content, "text/csv")},
        headers={"Authorization": f"Bearer {caller.token}"},
    )
    assert response.status_code == 200, response.text
    started = response.json()["data"]["startImport"]
    assert started["errors"] == [], started
    job_id: str = started["job"]["id"]
    return job_id
