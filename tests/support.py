"""Helpers for tests that talk to the real app over HTTP."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from graphql import OperationDefinitionNode, parse, print_ast
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service as auth
from app.auth import tokens
from app.kit.actor import SYSTEM
from app.models.auth import Role
from schema.relay import to_global_id

CONTRACT = Path(__file__).parent / "contract"
# Operations no outside client has sent yet, written by us (not part of ../shared/contract).
OWN_OPERATIONS = Path(__file__).parent / "operations"
_emails = itertools.count()


@functools.cache
def contract_operations() -> dict[str, str]:
    """Every named operation of the contract files, as standalone documents."""
    return _operations(CONTRACT)


@functools.cache
def operations() -> dict[str, str]:
    """The contract's operations and our own (tests/operations), by name."""
    return {**contract_operations(), **_operations(OWN_OPERATIONS)}


def _operations(folder: Path) -> dict[str, str]:
    operations: dict[str, str] = {}
    for path in sorted(folder.glob("*.graphql")):
        for definition in parse(path.read_text()).definitions:
            assert isinstance(definition, OperationDefinitionNode)
            assert definition.name is not None
            operations[definition.name.value] = print_ast(definition)
    return operations


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: int
    token: str
    role: Role

    @property
    def id(self) -> str:
        return to_global_id("User", self.user_id)


class Api:
    def __init__(self, client: httpx.AsyncClient, session: AsyncSession) -> None:
        self.client = client
        self.session = session

    async def caller(self, role: Role, *, name: str | None = None) -> Caller:
        n = next(_emails)
        email = f"{role.value.lower()}{n}@example.org"
        user = await auth.create_user(
            self.session,
            actor=SYSTEM,
            email=email,
            name=name or f"{role.value.title()} {n}",
            role=role,
        )
        token, _ = await tokens.issue_token(self.session, actor=SYSTEM, user_id=user.id)
        await self.session.commit()
        return Caller(user_id=user.id, token=token, role=role)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller | None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {caller.token}"} if caller else {}
        body = {"query": query, "variables": variables or {}}
        return await self.client.post("/graphql", json=body, headers=headers)

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        response = await self.post(query, variables, caller=caller)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        """The data of a request that must not fail."""
        result = await self.gql(query, variables, caller=caller)
        assert "errors" not in result, result["errors"]
        data: dict[str, Any] = result["data"]
        return data

    async def op(
        self, name: str, variables: dict[str, Any] | None = None, *, caller: Caller
    ) -> dict[str, Any]:
        """Run a contract operation (or one of ours) exactly as written; returns its data."""
        return await self.data(operations()[name], variables, caller=caller)
