"""The same request to both apps; their answers compared byte for byte, told readably."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from traceback import format_exc
from typing import Any

import httpx
import orjson
from graphql import GraphQLError, parse, print_ast

from app.models.auth import Role
from tests.schema.engine.compiled.world import World

EXECUTOR = "x-accountflow-executor"
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.REP})
# Errors carry the request id: both apps get the same one.
REQUEST_ID = "difftest"
SHOWN = 6000  # characters of each body in a report


@dataclass(frozen=True, slots=True)
class Ask:
    document: str
    variables: dict[str, Any] | None
    role: Role
    operation_name: str | None = None
    get: bool = False
    accept: str | None = None

    def describe(self) -> str:
        variables = json.dumps(self.variables, ensure_ascii=False, indent=1)
        how = "GET" if self.get else "POST"
        return (
            f"role: {self.role.value}   method: {how}   accept: {self.accept}   "
            f"operationName: {self.operation_name}\n"
            f"document, as sent:\n{self.document}\n"
            f"document, laid out:\n{_laid_out(self.document)}\nvariables: {variables}"
        )


def _laid_out(document: str) -> str:
    try:
        return print_ast(parse(document))
    except GraphQLError:
        return "(does not parse)"


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    executor: str | None
    raised: str | None = None  # the traceback of an exception that escaped the app

    @property
    def has_errors(self) -> bool:
        try:
            parsed = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return True
        return not isinstance(parsed, dict) or "errors" in parsed


def first_difference(a: bytes, b: bytes) -> int:
    for offset, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return offset
    return min(len(a), len(b))


def _clip(body: bytes) -> str:
    text = body.decode("utf-8", "backslashreplace")
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}… ({len(text)} characters)"


def difference(ask: Ask, compiled: Answer, graphql: Answer) -> str | None:
    """None when the answers agree; else everything needed to reproduce and read the gap."""
    same = (compiled.status, compiled.body, compiled.content_type) == (
        graphql.status,
        graphql.body,
        graphql.content_type,
    )
    if same:
        return None
    at = first_difference(compiled.body, graphql.body)
    window = slice(max(0, at - 80), at + 80)
    return (
        f"{ask.describe()}\n"
        f"status: compiled {compiled.status}, graphql {graphql.status}; "
        f"content-type: compiled {compiled.content_type!r}, graphql {graphql.content_type!r}\n"
        f"compiled path answered with: {compiled.executor}\n"
        f"bodies first differ at byte {at} "
        f"(lengths {len(compiled.body)} and {len(graphql.body)}):\n"
        f"  compiled: …{compiled.body[window]!r}…\n"
        f"  graphql:  …{graphql.body[window]!r}…\n"
        f"compiled body:\n{_clip(compiled.body)}\n"
        f"graphql body:\n{_clip(graphql.body)}"
    )


@dataclass
class Tally:
    """What was compared, and which path answered on the app with compiled reads on."""

    compared: int = 0
    executors: Counter[str] = field(default_factory=Counter)
    valid_staff: int = 0
    valid_staff_compiled: int = 0
    status: Counter[int] = field(default_factory=Counter)

    def add(self, ask: Ask, answer: Answer) -> None:
        self.compared += 1
        self.executors[answer.executor or "none"] += 1
        self.status[answer.status] += 1
        if ask.role in STAFF and answer.status == 200 and not answer.has_errors:
            self.valid_staff += 1
            self.valid_staff_compiled += answer.executor == "compiled"

    def summary(self) -> str:
        executors = ", ".join(f"{k}: {v}" for k, v in sorted(self.executors.items()))
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.status.items()))
        return (
            f"{self.compared} requests compared; executor header on the compiled app: "
            f"{executors}; status: {statuses}; valid staff queries: {self.valid_staff}, "
            f"of which compiled: {self.valid_staff_compiled}"
        )


# Test name -> tally, printed at the end of the run (conftest's terminal summary).
TALLIES: dict[str, Tally] = {}


async def _send(client: httpx.AsyncClient, ask: Ask, token: str) -> Answer:
    """The app's answer; an exception escaping the app is kept as its traceback."""
    try:
        return await _request(client, ask, token)
    except Exception:
        return Answer(status=0, body=b"", content_type="", executor=None, raised=format_exc())


async def _request(client: httpx.AsyncClient, ask: Ask, token: str) -> Answer:
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": REQUEST_ID}
    if ask.accept:
        headers["Accept"] = ask.accept
    if ask.get:
        params = {"query": ask.document}
        if ask.variables is not None:
            params["variables"] = json.dumps(ask.variables)
        if ask.operation_name is not None:
            params["operationName"] = ask.operation_name
        response = await client.get("/graphql", params=params, headers=headers)
    else:
        payload = {"query": ask.document, "variables": ask.variables}
        if ask.operation_name is not None:
            payload["operationName"] = ask.operation_name
        body = orjson.dumps(payload)
        headers["Content-Type"] = "application/json"
        response = await client.post("/graphql", content=body, headers=headers)
    return Answer(
        status=response.status_code,
        body=response.content,
        content_type=response.headers.get("content-type", ""),
        executor=response.headers.get(EXECUTOR),
    )


class Pair:
    def __init__(
        self,
        compiled: httpx.AsyncClient,
        graphql: httpx.AsyncClient,
        tokens: dict[Role, str],
        world: World,
    ) -> None:
        self.compiled = compiled
        self.graphql = graphql
        self.tokens = tokens
        self.world = world

    async def ask(self, ask: Ask) -> tuple[Answer, Answer]:
        """Both at once: the database works for one while Python works for the other."""
        token = self.tokens[ask.role]
        compiled, graphql = await asyncio.gather(
            _send(self.compiled, ask, token), _send(self.graphql, ask, token)
        )
        return compiled, graphql

    async def check(self, ask: Ask, tally: Tally | None = None) -> Answer:
        """Both answers, which must agree; returns the compiled app's."""
        compiled, graphql = await self.ask(ask)
        for path, answer in (("compiled", compiled), ("graphql", graphql)):
            assert answer.raised is None, (
                f"the app with the {path} read path raised (a 500 in production):\n"
                f"{ask.describe()}\n{answer.raised}"
            )
        assert graphql.executor != "compiled", "compiled_reads=False answered compiled"
        found = difference(ask, compiled, graphql)
        assert found is None, f"the two read paths disagree:\n{found}"
        if tally is not None:
            tally.add(ask, compiled)
        return compiled

    async def data(self, document: str, variables: dict[str, Any] | None = None) -> Any:
        """An ADMIN query on the plain app, which must not fail."""
        ask = Ask(document, variables, Role.ADMIN)
        answer = await _send(self.graphql, ask, self.tokens[Role.ADMIN])
        parsed = orjson.loads(answer.body)
        assert "errors" not in parsed, parsed
        return parsed["data"]

    async def collect_cursors(self) -> None:
        """Real cursors of each connection, to page with valid `after` values."""
        found = await self.data(
            "{ accounts(first: 100, filter: {includeArchived: true}) { edges { cursor node {"
            " branches(first: 100) { edges { cursor } }"
            " activities(first: 100) { edges { cursor } } } } } }"
        )
        edges = found["accounts"]["edges"]
        users = await self.data("{ users(first: 100, includeInactive: true) { edges { cursor } } }")
        self.world.cursors = {
            "accounts": [e["cursor"] for e in edges],
            "branches": [b["cursor"] for e in edges for b in e["node"]["branches"]["edges"]],
            "activities": [a["cursor"] for e in edges for a in e["node"]["activities"]["edges"]],
            "users": [e["cursor"] for e in users["users"]["edges"]],
        }
        assert all(self.world.cursors.values()), self.world.cursors
