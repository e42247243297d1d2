"""The built wheel runs on its own: installed into a fresh virtualenv and run from a folder
that is not the checkout, on the embedded database."""

from __future__ import annotations

import ast
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_LEFTOVERS = shutil.ignore_patterns(".*", "__pycache__", "build", "dist", "*.egg-info")


def test_migrations_import_nothing_from_the_app() -> None:
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert [m for m in modules if m.split(".")[0] in {"app", "schema"}] == [], path.name


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel built from a copy of this tree (building in the
    checkout would leave build/ behind, and a stale build/lib ships deleted files)."""
    tmp = tmp_path_factory.mktemp("package")
    source, wheels, venv = tmp / "source", tmp / "wheels", tmp / "venv"
    shutil.copytree(ROOT, source, ignore=BUILD_LEFTOVERS)
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet")
    _run(*pip, "wheel", "--no-deps", "--wheel-dir", wheels, source)
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(*pip, "--python", python, "install", "--no-deps", "--no-index", *wheels.glob("*.whl"))
    # The runtime dependencies come from this test's own environment, offline and at once:
    # a .pth line only appends a folder to sys.path, it does not run the .pth files in it,
    # so the editable install's import hook there stays inert and `app`, `schema` and
    # `migrations` can only come from the wheel (asserted below).
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (_site_packages(venv) / "_dev_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    return venv


def _site_packages(venv: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    return Path(_run(venv / "bin" / "python", "-c", code).strip())


@pytest.fixture
def elsewhere(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """An unrelated working folder and an environment naming nothing of the checkout."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not _configures_the_app(k)}
    env["ACCOUNTFLOW_DATA_DIR"] = str(tmp_path / "data")
    yield folder, env
    _stop_postgres(tmp_path / "data" / "pg")


def _configures_the_app(name: str) -> bool:
    return name in {"PYTHONPATH", "VIRTUAL_ENV", "PORT"} or name.startswith(
        ("ACCOUNTFLOW_", "DATABASE_")
    )


def _postmaster_pid(pg_dir: Path) -> int | None:
    try:
        return int((pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except FileNotFoundError:
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_postgres(pg_dir: Path) -> None:
    """A PostgreSQL the server left running gets PostgreSQL's fast shutdown."""
    pid = _postmaster_pid(pg_dir)
    if pid is None:
        return
    if _alive(pid):
        os.kill(pid, signal.SIGINT)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_ready(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready in 45 s:\n{log.read_text()}")


def _stop(server: subprocess.Popen[bytes], pg_dir: Path, log: Path) -> None:
    """SIGTERM ends `serve` cleanly and with it the embedded PostgreSQL it started."""
    server.send_signal(signal.SIGTERM)
    try:
        assert server.wait(timeout=30) == 0, log.read_text()
        assert _postmaster_pid(pg_dir) is None, "serve left its PostgreSQL running"
    finally:
        _stop_postgres(pg_dir)  # whatever happened, no test leaves one behind


CREATE = """mutation {
  createAccount(input: {name: "Wheel Ltd"}) { account { name } errors { code } }
}"""
QUERY = """query($from: DateTime!, $to: DateTime!) {
  viewer { email role }
  pipelines { key stages { key } }
  stageThroughput(from: $from, to: $to) { stages { stage entered current } }
}"""


def _graphql(client: httpx.Client, query: str, **variables: str) -> Any:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def test_the_wheel_migrates_and_serves_from_any_folder(
    venv: Path, elsewhere: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    folder, env = elsewhere
    bin_ = venv / "bin"
    where = "import app, schema, migrations as m; print(app.__file__, schema.__file__, m.__file__)"
    installed = _run(bin_ / "python", "-c", where, cwd=folder, env=env).split()
    assert [Path(f).parent.parent for f in installed] == [_site_packages(venv)] * 3

    _run(bin_ / "accountflow", "migrate", cwd=folder, env=env)
    port, log, pg_dir = _free_port(), tmp_path / "serve.log", tmp_path / "data" / "pg"
    serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [bin_ / "accountflow", *serve], cwd=folder, env=env, stdout=out, stderr=out
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server, log)
        token = _run(bin_ / "accountflow", "token", "show", cwd=folder, env=env).strip()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            _check_the_api(client)
        _stop(server, pg_dir, log)
    finally:
        if server.poll() is None:
            server.kill()  # the fixture then stops the PostgreSQL it leaves behind
    assert not (folder / ".accountflow").exists()


def _check_the_api(client: httpx.Client) -> None:
    created = _graphql(client, CREATE)["createAccount"]
    assert created == {"account": {"name": "Wheel Ltd"}, "errors": []}
    now = datetime.now(UTC)
    span = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    data = _graphql(client, QUERY, **span)
    assert data["viewer"] == {"email": "admin@accountflow.io", "role": "ADMIN"}
    stages = ["PROSPECT", "QUALIFIED", "OPPORTUNITY", "CUSTOMER", "LOST"]
    assert data["pipelines"] == [{"key": "default", "stages": [{"key": s} for s in stages]}]
    prospect = {"stage": "PROSPECT", "entered": 1, "current": 1}
    assert data["stageThroughput"]["stages"][0] == prospect
    report = client.get("/export/reports/stageThroughput.csv", params=span)
    assert report.status_code == 200, report.text
    assert report.text.splitlines()[1].split(",")[:3] == ["PROSPECT", "1", "0"]
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert client.get("/dashboard/static/vendor/chart.umd.js").status_code == 200
    assert client.get("/graphiql/static/vendor/graphiql.min.js").status_code == 200
