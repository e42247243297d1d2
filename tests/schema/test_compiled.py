"""The compiled read path answers byte for byte what strawberry answers."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import BuyingRole
from app.auth.models import Role
from app.server import create_app
from app.settings import Settings
from tests.accounts.factories import create_account, create_contact
from tests.support import Api, Caller, contract_operations

NOW = datetime(2026, 11, 30, 9, 30, 15, 123456, tzinfo=UTC)


@dataclasses.dataclass
class Paths:
    compiled: httpx.AsyncClient
    plain: httpx.AsyncClient

    async def both(
        self, query: str, variables: dict[str, Any] | None, caller: Caller
    ) -> tuple[httpx.Response, httpx.Response]:
        headers = {"Authorization": f"Bearer {caller.token}"}
        body = {"query": query, "variables": variables or {}}
        one = await self.compiled.post("/graphql", json=body, headers=headers)
        two = await self.plain.post("/graphql", json=body, headers=headers)
        return one, two


@pytest.fixture
async def paths(settings: Settings, database_url: str) -> AsyncIterator[Paths]:
    clients = []
    apps = [
        create_app(dataclasses.replace(settings, compiled_reads=on), database_url, clock=lambda: NOW)
        for on in (True, False)
    ]
    async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]):
        for app in apps:
            transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
            clients.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
        try:
            yield Paths(*clients)
        finally:
            for client in clients:
                await client.aclose()


async def arrange(session: AsyncSession) -> None:
    head = await create_account(session, name="Äcme \"quoted\" \\ back\nline", industry="Mining")
    for n in range(3):
        branch = await create_account(session, name=f"Branch {n}", parent_id=head.id)
        await create_contact(session, branch, name=f"Contact {n}", role=BuyingRole.COACH)
    await create_contact(session, head, name="Zoë 😀", role=None)
    await session.commit()


async def test_contract_reads_compile_and_agree(api: Api, paths: Paths) -> None:
    await arrange(api.session)
    admin = await api.caller(Role.ADMIN)
    operations = contract_operations()
    for name, variables in [
        ("Viewer", None),
        ("AccountList", {"first": 2}),
        ("AccountList", {"first": 100}),
    ]:
        one, two = await paths.both(operations[name], variables, admin)
        assert one.headers["x-accountflow-executor"] == "compiled", (name, one.text)
        assert one.content == two.content, (name, one.text, two.text)

