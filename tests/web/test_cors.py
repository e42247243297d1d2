"""CORS: only the origins ACCOUNTFLOW_CORS_ORIGINS names, none by default, no credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from app.models.auth import Role
from app.settings import Settings
from app.web.app import create_app
from tests.support import Api

APP = "https://app.example.com"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    origins = f" {APP} , https://admin.example.com,"
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_CORS_ORIGINS": origins}
    return Settings.from_env(env)


@pytest.fixture
async def closed(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as configured by default: no CORS origin at all."""
    app = create_app(Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path)}), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_listed_origin_passes_the_preflight_without_credentials(api: Api) -> None:
    answer = await api.client.options("/graphql", headers={"Origin": APP, **PREFLIGHT})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers


async def test_a_listed_origin_reads_the_answer(api: Api) -> None:
    admin = await api.caller(Role.ADMIN)
    headers = {"Origin": APP, "Authorization": f"Bearer {admin.token}"}
    answer = await api.client.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in answer.headers["access-control-expose-headers"]


async def test_another_origin_is_refused(api: Api) -> None:
    other = {"Origin": "https://evil.example.net", **PREFLIGHT}
    answer = await api.client.options("/graphql", headers=other)
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
    posted = await api.client.post("/graphql", json={"query": "{ __typename }"}, headers=other)
    assert "access-control-allow-origin" not in posted.headers


async def test_no_origin_is_allowed_by_default(closed: httpx.AsyncClient) -> None:
    answer = await closed.options("/graphql", headers={"Origin": APP, **PREFLIGHT})
    assert answer.status_code == 405
    assert "access-control-allow-origin" not in answer.headers
    posted = await closed.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": APP}
    )
    assert "access-control-allow-origin" not in posted.headers
