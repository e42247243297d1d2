"""Generated GraphQL operations sent to the real app, with issue 8's checks.

Shared by tests/web/fuzz/test_fuzz.py (a few hundred per role in `make test`) and bench/fuzz.py
(10,000 by hand). Each operation is checked for: a 5xx answer, an error that is "Internal
error" / INTERNAL, no answer within the timeout, and for a mutation that failed, any change
to any table (every table's contents are hashed before and after it).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import graphql
import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import app
from app import models
from app.imports import jobs as import_jobs

TIMEOUT_SECONDS = 10.0
INTERNAL_MESSAGE = "Internal error"
ROOT = f"{Path(app.__file__).resolve().parent.parent}/"

REQUEST_IDS = ["fuzz-1", "x" * 65, "y" * 500, 'a b"c<d>', "ok-" + "0" * 61]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # 5XX, INTERNAL, TIMEOUT, WRITE
    role: str
    query: str
    detail: str
    cause: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Findings of one kind, root field and cause (without its message) count as one."""
        return self.kind, root_field_name(self.query) or "?", self.cause.split(":")[0]

    def describe(self) -> str:
        return f"{self.kind} for {self.role}: {self.cause}\n{self.detail}\n{self.query}"


@dataclass(slots=True)
class Tally:
    operations: int = 0
    mutations: int = 0
    failed_mutations: int = 0
    unchecked_mutations: int = 0
    server_errors: int = 0
    internal: int = 0
    timeouts: int = 0
    writes: int = 0
    findings: list[Finding] = field(default_factory=list)

    def distinct(self) -> list[Finding]:
        seen: dict[tuple[str, str, str], Finding] = {}
        for finding in self.findings:
            seen.setdefault(finding.key, finding)
        return list(seen.values())

    def figures(self) -> dict[str, int]:
        return {
            "operations": self.operations,
            "mutations": self.mutations,
            "failed_mutations": self.failed_mutations,
            "unchecked_mutations": self.unchecked_mutations,
            "5xx": self.server_errors,
            "internal": self.internal,
            "timeouts": self.timeouts,
            "writes_from_failed_mutations": self.writes,
            "distinct_findings": len(self.distinct()),
        }


# --- checks -----------------------------------------------------------------------------


def _root(
    query: str,
) -> tuple[graphql.DocumentNode, graphql.OperationDefinitionNode, graphql.FieldNode] | None:
    try:
        document = graphql.parse(query)
    except graphql.GraphQLError:
        return None
    for definition in document.definitions:
        if isinstance(definition, graphql.OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, graphql.FieldNode):
                    return document, definition, selection
    return None


def root_field_name(query: str) -> str | None:
    found = _root(query)
    return found[2].name.value if found else None


def is_mutation(query: str) -> bool:
    return query.lstrip().startswith("mutation")


def _with_outcome_fields(query: str) -> tuple[str, str | None]:
    """The mutation with its payload's errors (and acceptedCount) selected under aliases."""
    found = _root(query)
    if found is None or found[2].selection_set is None:
        return query, None
    document, operation, root = found
    assert root.selection_set is not None
    extra = "fuzzErrors: errors { code field message }"
    if root.name.value == "logActivities":
        extra += " fuzzAccepted: acceptedCount"
    added = graphql.parse(f"{{ {extra} }}").definitions[0]
    assert isinstance(added, graphql.OperationDefinitionNode)
    selections = (*root.selection_set.selections, *added.selection_set.selections)
    new_root = replace(root, selection_set=replace(root.selection_set, selections=selections))
    new_operation = replace(
        operation,
        selection_set=replace(
            operation.selection_set,
            selections=tuple(
                new_root if s is root else s for s in operation.selection_set.selections
            ),
        ),
    )
    definitions = tuple(new_operation if d is operation else d for d in document.definitions)
    key = root.alias.value if root.alias else root.name.value
    return graphql.print_ast(replace(document, definitions=definitions)), key


AUDIT_ONLY = frozenset({"audit_log"})


def outcome(body: Any, key: str | None) -> tuple[str, frozenset[str]]:
    """Whether the mutation failed ("failed", "stored nothing", "succeeded", "unknown"), and
    which tables it may have changed when it did not succeed.

    A logActivities call that stored no event writes its audit entry (the call's counts).
    """
    data = body.get("data") if isinstance(body, dict) else None
    if key is None or not isinstance(data, dict) or data.get(key) is None:
        return "failed", frozenset()
    payload = data[key]
    errors = payload.get("fuzzErrors")
    if errors:
        return "failed", frozenset()
    if errors is None:
        return "unknown", frozenset()
    if payload.get("fuzzAccepted", 1) == 0:
        return "stored nothing", AUDIT_ONLY
    return "succeeded", frozenset()


def internal_errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    found: list[dict[str, Any]] = []
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if error.get("message") == INTERNAL_MESSAGE or code == "INTERNAL":
            found.append(error)
    return found


# Columns any authenticated request may touch (a token's last use, at most once a minute).
VOLATILE_COLUMNS = {"api_tokens": ["last_used_at"]}
# Background work started by an earlier successful mutation (a contact-rule rebuild; CSV
# imports are awaited in process).
BUSY_SQL = "SELECT count(*) FROM contact_rules WHERE rebuild_pending"
QUIESCE_SECONDS = 30.0


# Shards of past days the server folds into shard 0 on its own (app.handoff.summaries):
# derived from stage_events and handoffs, which are compared, and rewritten at any moment.
FOLDED_TABLES = frozenset({"stage_day_pairs", "stage_day_stays", "handoff_days"})


def snapshot_sql() -> str:
    def row(name: str) -> str:
        volatile = VOLATILE_COLUMNS.get(name)
        return f"(to_jsonb(t) - ARRAY{volatile!r}::text[])::text" if volatile else "t::text"

    parts = [
        f"(SELECT md5(coalesce(string_agg({row(name)}, '|' ORDER BY t::text), '')) FROM {name} t)"
        f" AS {name}"
        for name in sorted(models.Base.metadata.tables)
        if name not in FOLDED_TABLES
    ]
    return "SELECT " + ", ".join(parts)


async def snapshot(engine: AsyncEngine, sql: str) -> dict[str, str]:
    async with engine.connect() as connection:
        row = (await connection.execute(text(sql))).one()
    return dict(row._mapping)


async def quiesce(engine: AsyncEngine) -> None:
    """Wait until no background job writes, so a snapshot's changes are the request's."""
    await import_jobs.wait_for_jobs()
    async with asyncio.timeout(QUIESCE_SECONDS), engine.connect() as connection:
        for _ in itertools.count():
            if not await connection.scalar(text(BUSY_SQL)):
                return
            await asyncio.sleep(0.05)  # the job lives in the app: nothing to wait on here


# --- running ----------------------------------------------------------------------------


def cause(error: BaseException) -> str:
    """The exception's type and message, at the deepest frame of the project's code."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if f.filename.startswith((f"{ROOT}app/", f"{ROOT}schema/"))
    ]
    where = f" at {frames[-1].filename.removeprefix(ROOT)}:{frames[-1].lineno}" if frames else ""
    return f"{type(error).__name__}{where}: {str(error)[:200]}"


class ServerLog(logging.Handler):
    """The cause of each unexpected error the app logs while one operation runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.causes: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.causes.append(cause(record.exc_info[1]))


@dataclass(slots=True)
class Runner:
    client: httpx.AsyncClient
    engine: AsyncEngine
    tally: Tally = field(default_factory=Tally)
    rng: random.Random = field(default_factory=lambda: random.Random(8))
    on_finding: Callable[[Finding], None] | None = None
    _sql: str = field(default_factory=snapshot_sql)
    _log: ServerLog = field(default_factory=ServerLog)

    def _report(self, finding: Finding) -> None:
        self.tally.findings.append(finding)
        if self.on_finding is not None:
            self.on_finding(finding)

    def _headers(self, token: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}"}
        if self.rng.random() < 0.1:
            headers["X-Request-Id"] = self.rng.choice(REQUEST_IDS)
        return headers

    async def run(self, role: str, token: str, queries: Sequence[str]) -> Tally:
        logger = logging.getLogger("accountflow")
        logger.addHandler(self._log)
        try:
            for query in queries:
                await self.one(role, token, query)
        finally:
            logger.removeHandler(self._log)
        return self.tally

    async def one(self, role: str, token: str, query: str) -> None:
        tally = self.tally
        tally.operations += 1
        mutation, key = is_mutation(query), None
        if mutation:
            tally.mutations += 1
            query, key = _with_outcome_fields(query)
            await quiesce(self.engine)
            before = await snapshot(self.engine, self._sql)
        headers = self._headers(token)
        self._log.causes.clear()
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                response = await self.client.post(
                    "/graphql", json={"query": query}, headers=headers
                )
        except TimeoutError:
            tally.timeouts += 1
            self._report(Finding("TIMEOUT", role, query, f"no answer in {TIMEOUT_SECONDS} s"))
            return
        except Exception as error:  # the app crashed: a real server answers 500
            tally.server_errors += 1
            self._report(Finding("5XX", role, query, "500", cause(error)))
            return
        body = _json(response)
        if response.status_code >= 500:
            tally.server_errors += 1
            detail = f"{response.status_code} {response.text[:200]}"
            self._report(Finding("5XX", role, query, detail, self._cause()))
        internal = internal_errors(body)
        if internal:
            tally.internal += 1
            detail = f"{internal[0]} X-Request-Id={headers.get('X-Request-Id')!r}"
            self._report(Finding("INTERNAL", role, query, detail, self._cause()))
        if mutation:
            await self._check_writes(role, query, body, key, before)

    def _cause(self) -> str:
        return "; ".join(dict.fromkeys(self._log.causes)) or "not logged"

    async def _check_writes(
        self, role: str, query: str, body: Any, key: str | None, before: dict[str, str]
    ) -> None:
        result, allowed = outcome(body, key)
        if result == "unknown":
            self.tally.unchecked_mutations += 1
        if result in ("succeeded", "unknown"):
            return
        self.tally.failed_mutations += 1
        after = await snapshot(self.engine, self._sql)
        changed = sorted(n for n in before if before[n] != after[n] and n not in allowed)
        if changed:
            self.tally.writes += 1
            detail = f"answer: {str(body)[:300]}"
            self._report(Finding("WRITE", role, query, detail, f"tables changed: {changed}"))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
