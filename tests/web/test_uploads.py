"""Multipart uploads (startImport): the token before the body, no file left on any way out,
the form fields bounded in total."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.imports.jobs import wait_for_jobs
from app.models.auth import Role
from app.models.imports import ImportJob
from app.settings import Settings
from app.web.app import create_app
from tests.support import Api, Caller, contract_operations

CSV = b"externalRef,name\nR1,One\n"
MAP = json.dumps({"0": ["variables.input.file"]})


def _operations(**extra: Any) -> str:
    query = contract_operations()["StartImport"]
    body = {"query": query, "variables": {"input": {"kind": "ACCOUNTS", "file": None}}}
    return json.dumps({**body, **extra})


def _left(data_dir: Path) -> list[Path]:
    folder = data_dir / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


async def _jobs(api: Api) -> int | None:
    return await api.session.scalar(select(func.count()).select_from(ImportJob))


async def _post(
    client: httpx.AsyncClient, token: str, data: dict[str, Any], files: list[Any]
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return await client.post("/graphql", data=data, files=files, headers=headers)


async def test_a_bogus_token_is_refused_before_the_body_is_read(
    api: Api, settings: Settings
) -> None:
    files = [("0", ("a.csv", CSV * 1000, "text/csv"))]
    response = await _post(api.client, "af_bogus", {"operations": _operations(), "map": MAP}, files)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert not (settings.data_dir / "uploads").exists()


async def test_a_part_name_sent_twice_is_refused_and_leaves_no_file(
    api: Api, settings: Settings
) -> None:
    manager = await api.caller(Role.MANAGER)
    files = [("0", ("a.csv", CSV, "text/csv")), ("0", ("b.csv", CSV, "text/csv"))]
    response = await _post(
        api.client, manager.token, {"operations": _operations(), "map": MAP}, files
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The part '0' is sent twice."
    assert _left(settings.data_dir) == []
    assert await _jobs(api) == 0


async def test_a_field_sent_twice_is_refused(api: Api, settings: Settings) -> None:
    manager = await api.caller(Role.MANAGER)
    data = {"operations": [_operations(), _operations()], "map": MAP}
    response = await _post(api.client, manager.token, data, [("0", ("a.csv", CSV, "text/csv"))])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The part 'operations' is sent twice."
    assert _left(settings.data_dir) == []


async def test_operations_without_a_query_leave_no_file(api: Api, settings: Settings) -> None:
    manager = await api.caller(Role.MANAGER)
    operations = json.dumps({"variables": {"input": {"kind": "ACCOUNTS", "file": None}}})
    data = {"operations": operations, "map": MAP}
    response = await _post(api.client, manager.token, data, [("0", ("a.csv", CSV, "text/csv"))])
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The request needs a 'query' string."
    assert _left(settings.data_dir) == []


async def test_an_unmapped_file_is_removed_too(api: Api, settings: Settings) -> None:
    manager = await api.caller(Role.MANAGER)
    files = [("0", ("a.csv", CSV, "text/csv")), ("extra", ("b.csv", CSV, "text/csv"))]
    response = await _post(
        api.client, manager.token, {"operations": _operations(), "map": MAP}, files
    )
    assert response.status_code == 200
    assert response.json()["data"]["startImport"]["errors"] == []
    await wait_for_jobs()
    assert _left(settings.data_dir) == []


@pytest.fixture
async def small_fields(tmp_path: Path, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A server whose JSON bodies (and so an upload's form fields) hold 4,000 bytes."""
    env = {"ACCOUNTFLOW_DATA_DIR": str(tmp_path), "ACCOUNTFLOW_MAX_BODY_BYTES": "4000"}
    app = create_app(Settings.from_env(env), database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_form_fields_are_bounded_in_total(
    api: Api, small_fields: httpx.AsyncClient, tmp_path: Path
) -> None:
    manager = await api.caller(Role.MANAGER)
    data = {"operations": _operations(), "map": MAP}
    fine = await _post(small_fields, manager.token, data, [("0", ("a.csv", CSV, "text/csv"))])
    assert fine.status_code == 200, fine.text
    await wait_for_jobs()
    padded = {**data, **{f"pad{n}": "x" * 1500 for n in range(3)}}  # each one far below 1 MiB
    response = await _post(small_fields, manager.token, padded, [("0", ("a.csv", CSV, "text/csv"))])
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == (
        "The form fields are over 4000 bytes in total."
    )
    assert _left(tmp_path) == []
    assert await _jobs(api) == 1


async def test_parts_are_bounded_in_number(api: Api, settings: Settings) -> None:
    manager = await api.caller(Role.MANAGER)
    files = [(str(n), (f"{n}.csv", b"", "text/csv")) for n in range(101)]
    response = await _post(
        api.client, manager.token, {"operations": _operations(), "map": MAP}, files
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == "More than 100 parts."
    assert _left(settings.data_dir) == []


async def _send_half_and_hang_up(base: str, caller: Caller, data_dir: Path) -> None:
    """Headers and the first part of a file; the connection closes once the server has
    begun writing the file."""
    host, port = base.removeprefix("http://").split(":")
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
        f'{_operations()}\r\n--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n'
        f'\r\n{MAP}\r\n--{boundary}\r\nContent-Disposition: form-data; name="0"; '
        f'filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode() + CSV * 100
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {caller.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) * 2}\r\n\r\n"
    ).encode()
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(request + head)
    await writer.drain()
    for _ in range(200):
        if _left(data_dir):
            break
        await asyncio.sleep(0.02)
    assert len(_left(data_dir)) == 1  # the file is begun
    writer.close()
    await writer.wait_closed()


async def test_a_client_gone_mid_upload_leaves_no_file(
    api: Api, ws_url: str, settings: Settings
) -> None:
    manager = await api.caller(Role.MANAGER)
    base = ws_url.replace("ws://", "http://").removesuffix("/graphql")
    await _send_half_and_hang_up(base, manager, settings.data_dir)
    for _ in range(200):  # the server notices the disconnect on its own time
        if not _left(settings.data_dir):
            break
        await asyncio.sleep(0.02)
    assert _left(settings.data_dir) == []
    assert await _jobs(api) == 0
