"""`accountflow serve` as a real process on a free loopback port, its output kept in files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.web.dashboard.server import ROOT, free_port

# Variables of the test run that would change what the server does.
_THEIRS = ("DATABASE_URL", "ACCOUNTFLOW_", "OTEL_", "PROMETHEUS_MULTIPROC_DIR", "LOG_LEVEL")


@dataclass(frozen=True, slots=True)
class Served:
    base: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.read_text().splitlines() if line.strip()]


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_THEIRS)}
    return env | extra


def _wait_healthy(base: str, process: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start:\n{stderr.read_text()}")
        time.sleep(0.2)


@contextmanager
def serve(folder: Path, env: dict[str, str], *args: str) -> Iterator[Served]:
    """The server in its own process group (SIGTERM reaches every worker); `folder` keeps
    its stdout and stderr."""
    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)]
    stdout, stderr = folder / "stdout.log", folder / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*command, *args],
            cwd=ROOT,
            env=_env(env),
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{port}", process, stdout, stderr)
    try:
        _wait_healthy(served.base, process, stderr)
        yield served
    finally:
        stop(served)


def stop(served: Served) -> None:
    if served.process.poll() is not None:
        return
    os.killpg(served.process.pid, signal.SIGTERM)
    try:
        served.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(served.process.pid, signal.SIGKILL)
        served.process.wait(timeout=10)
