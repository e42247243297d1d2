"""Logs: JSON lines in production (text in development) for every line the server writes,
the caller's X-Request-Id kept and echoed, one access line per request."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from app import logs
from app.models.auth import Role
from app.settings import Settings, SettingsError
from tests.support import Api
from tests.web.serve import serve

VIEWER = "query Viewer { viewer { id } }"
FIELDS = {"timestamp", "level", "logger", "message"}


def _json_lines(lines: list[str]) -> list[dict[str, Any]]:
    parsed = []
    for line in lines:
        try:
            parsed.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return parsed


def _one(lines: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [line for line in lines if match.items() <= line.items()]
    assert len(found) == 1, (match, lines)
    return found[0]


def test_serve_in_production_writes_json_lines_on_stderr_only(tmp_path: Path) -> None:
    """The embedded database's start, the migrations, the notices, uvicorn's lines and the
    access lines: every one a JSON object on stderr."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path / "data"), "ACCOUNTFLOW_ENV": "production"}
    with serve(tmp_path, env, "--no-worker") as served:
        token = (tmp_path / "data" / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}", "X-Request-Id": "req-20.logs"}
        with httpx.Client(base_url=served.base, headers=headers) as client:
            answered = client.post("/graphql", json={"query": VIEWER})
        fresh = httpx.get(f"{served.base}/healthz")
    assert answered.status_code == 200
    assert answered.headers["x-request-id"] == "req-20.logs"
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["x-request-id"])
    assert served.stdout.read_text() == ""
    lines = _json_lines(served.stderr_lines())
    assert all(line.keys() >= FIELDS for line in lines)
    migrated = [line for line in lines if line["logger"] == "alembic.runtime.migration"]
    assert any(line["message"].startswith("Running upgrade") for line in migrated)
    assert any("admin token" in line["message"] for line in lines)
    _one(lines, logger="uvicorn.error", message="Application startup complete.")
    access = _one(lines, logger="accountflow.access", request_id="req-20.logs")
    assert access | {"timestamp": "", "duration_ms": 0} == {
        "timestamp": "",
        "level": "INFO",
        "logger": "accountflow.access",
        "message": access["message"],
        "method": "POST",
        "path": "/graphql",
        "status": 200,
        "duration_ms": 0,
        "cost": access["cost"],
        "request_id": "req-20.logs",
        "operation": "Viewer",
        "role": "ADMIN",
    }
    assert access["message"].startswith("POST /graphql 200 ")
    assert isinstance(access["cost"], int)
    health = _one(lines, logger="accountflow.access", request_id=fresh.headers["x-request-id"])
    assert health["path"] == "/healthz"


def test_text_is_the_development_default_and_json_the_production_one(tmp_path: Path) -> None:
    def log_format(**env: str) -> str:
        return Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path), **env}).operate.log_format

    assert log_format() == "text"
    assert log_format(ACCOUNTFLOW_ENV="production") == "json"
    assert log_format(ACCOUNTFLOW_ENV="production", ACCOUNTFLOW_LOG_FORMAT="text") == "text"
    assert log_format(ACCOUNTFLOW_LOG_FORMAT="JSON") == "json"
    with pytest.raises(SettingsError, match="ACCOUNTFLOW_LOG_FORMAT must be text or json"):
        log_format(ACCOUNTFLOW_LOG_FORMAT="xml")


def test_a_text_line_keeps_the_request_fields_after_the_message() -> None:
    record = logging.makeLogRecord(
        {"name": "accountflow.access", "levelname": "INFO", "msg": "GET /healthz 200 1.0 ms"}
    )
    record.request_id, record.status = "abc", 200
    line = logs.TextFormatter().format(record)
    assert line.endswith(
        " INFO accountflow.access: GET /healthz 200 1.0 ms [request_id=abc status=200]"
    )


async def test_every_answer_echoes_the_request_id_and_writes_one_access_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    rep = await api.caller(Role.REP)
    caplog.set_level(logging.INFO, logger=logs.ACCESS_LOGGER)
    given = {"X-Request-Id": "given-1"}
    bearer = {"Authorization": f"Bearer {rep.token}"}
    answers = [
        await api.client.get("/healthz", headers=given),
        await api.client.get("/metrics", headers=given | bearer),  # 403: not an admin
        await api.client.post("/graphql", json={"query": VIEWER}, headers=given),  # 401
        await api.client.get("/healthz", headers={"X-Request-Id": "no spaces allowed"}),
    ]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert ids[:3] == ["given-1"] * 3
    assert re.fullmatch(r"[0-9a-f]{32}", ids[3])
    access = [r for r in caplog.records if r.name == logs.ACCESS_LOGGER]
    seen = [(r.request_id, r.path, r.status, r.role) for r in access]  # type: ignore[attr-defined]
    assert seen == [
        ("given-1", "/healthz", 200, None),
        ("given-1", "/metrics", 403, "REP"),
        ("given-1", "/graphql", 401, None),
        (ids[3], "/healthz", 200, None),
    ]
