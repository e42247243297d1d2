"""POST /ingest/activities: NDJSON in, one NDJSON result per line out.

Request: `Authorization: Bearer <token>` (the roles of `logActivities`), a body of up to
`ACCOUNTFLOW_MAX_INGEST_LINES` (100,000) lines and `ACCOUNTFLOW_MAX_INGEST_BYTES` (64 MiB),
each line one `LogActivityInput` as a JSON object with the GraphQL field names
(`{"kind":"CALL_OUTBOUND","occurredAt":"…","accountExternalRef":"…",…}`). A final newline
is optional. The body is read as it arrives and each line parsed then.

Each line gets logActivities' treatment: what GraphQL would refuse as a variable (not an
object, unknown field, missing `kind`, a bad enum or DateTime) is rejected with
INVALID_INPUT, graphql-core's message and the field; a line that is not JSON or is empty
with INVALID_INPUT; then the same checks, lookups, REP scope and idempotency as
logActivities, with the same codes and messages. The good lines are stored in one
transaction (app/activities/bulk.py) with the same cadence upkeep, push events and audit.

Answer 200, `application/x-ndjson`, one line per input line in input order:
    {"line": 1, "status": "accepted", "id": "<Activity global id>"}
    {"line": 2, "status": "duplicate"}
    {"line": 3, "status": "rejected", "errors": [{"code": …, "message": …, "field": …}]}
`line` counts from 1. A duplicate repeats a (source, externalId) this caller stored (keys
are the caller's own: another's never collides), also one earlier in the same body:
nothing is written and no id is given. Headers `x-ingest-accepted`, `x-ingest-duplicates` and
`x-ingest-rejected` carry the counts. Whole-request failures answer JSON
`{"errors": [{"message", "extensions": {"code"}}]}` and write nothing: 401 (no or a bad
token), 403 (role), 413 (too many lines or bytes), 400 (no line), 409 (CONFLICT: a row
named was deleted meanwhile), 503 (TIMEOUT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import orjson
from graphql import GraphQLSchema
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.activities import bulk
from app.activities.ingest import ActivityInput, LogResult
from app.db import expected_error
from app.errors import AppError, ConflictError, ErrorGroup, InvalidInputError
from app.kit.actor import Actor
from app.settings import Settings
from schema.activities import item_from_coerced
from schema.activity_input import ActivityInputCoercer
from schema.engine.http_request import request_id_of
from schema.relay import to_global_id

if TYPE_CHECKING:  # app.web.auth reaches this module through app.web.state
    from app.web.auth import Viewer

NDJSON = "application/x-ndjson"
ANSWER_CHUNK = 2_000  # result lines per streamed chunk
Item = ActivityInput | AppError


class LineSplitter:
    """The complete lines of a body fed chunk by chunk, in linear time: a line spanning many
    chunks keeps its pieces and is joined once, when its newline arrives (joining the tail
    to every chunk would copy a long line once per chunk: quadratic)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []  # of the line not ended yet

    def feed(self, chunk: bytes) -> list[bytes]:
        if b"\n" not in chunk:
            if chunk:
                self.pieces.append(chunk)
            return []
        lines = chunk.split(b"\n")
        if self.pieces:
            lines[0] = b"".join([*self.pieces, lines[0]])
        tail = lines.pop()
        self.pieces = [tail] if tail else []
        return lines

    def rest(self) -> bytes:
        return b"".join(self.pieces)


class _RefusedError(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def _error(status: int, message: str, code: str, request_id: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    headers = {"x-request-id": request_id}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class ActivityIngest:
    def __init__(
        self,
        schema: GraphQLSchema,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
    ) -> None:
        self.coercer = ActivityInputCoercer(schema)
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def __call__(self, request: Request, viewer: Viewer) -> Response:
        """The edge checked the token (and stamped its use) before the body is read."""
        request_id = request_id_of(request)
        actor = viewer.actor(request_id)
        try:
            items = await self._read(request)
            result = await self._store(actor, items)
        except _RefusedError as refused:
            return _error(refused.status, refused.message, refused.code, request_id)
        headers = {
            "x-request-id": request_id,
            "x-ingest-accepted": str(result.accepted_count),
            "x-ingest-duplicates": str(result.duplicate_count),
            "x-ingest-rejected": str(len(result.rejected)),
        }
        return StreamingResponse(_answer(result), headers=headers, media_type=NDJSON)

    async def _read(self, request: Request) -> list[Item]:
        limits = self.settings.limits
        max_bytes, max_lines = limits.max_ingest_bytes, limits.max_ingest_lines
        too_large = _RefusedError(413, f"Request body over {max_bytes} bytes.", "BAD_REQUEST")
        too_many = _RefusedError(413, f"More than {max_lines} lines.", "BAD_REQUEST")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise too_large
        items: list[Item] = []
        size, splitter = 0, LineSplitter()
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            lines = splitter.feed(chunk)
            if len(items) + len(lines) > max_lines:
                raise too_many
            items.extend(map(self._parse, lines))
        tail = splitter.rest()
        if tail.strip():
            if len(items) >= max_lines:
                raise too_many
            items.append(self._parse(tail))
        if not items:
            raise _RefusedError(400, "The body holds no line.", "BAD_REQUEST")
        return items

    def _parse(self, line: bytes) -> Item:
        if not line.strip():
            return InvalidInputError("The line is empty.")
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            return InvalidInputError("The line is not valid JSON.")
        coerced = self.coercer.coerce(value)
        if coerced is None:
            errors: list[AppError] = [
                InvalidInputError(m, field=f) for f, m in self.coercer.errors(value)
            ]
            return errors[0] if len(errors) == 1 else ErrorGroup(errors)
        return item_from_coerced(coerced)

    async def _store(self, actor: Actor, items: list[Item]) -> LogResult:
        async with self.sessionmaker() as session:
            try:
                result = await bulk.ingest_bulk(
                    session,
                    actor=actor,
                    items=items,
                    max_items=self.settings.limits.max_ingest_lines,
                    timeout_ms=self.settings.timeouts.ingest_statement_ms,
                )
                await session.commit()
                return result
            except IntegrityError:  # e.g. an account deleted meanwhile, as in unit_of_work
                await session.rollback()
                message = "The change conflicts with data written meanwhile."
                raise _RefusedError(409, message, ConflictError.code) from None
            except (AppError, DBAPIError) as error:
                await session.rollback()
                expected = expected_error(error)
                if expected is None:
                    raise
                status = 503 if expected.code == "TIMEOUT" else 400
                raise _RefusedError(status, expected.message, expected.code) from None


_ACCEPTED = b'{"line":%d,"status":"accepted","id":"%s"}\n'
_DUPLICATE = b'{"line":%d,"status":"duplicate"}\n'


def _result_line(line: int, result: LogResult, errors: dict[int, list[AppError]]) -> bytes:
    index = line - 1
    new_id = result.new_ids[index]
    if new_id is not None:
        return _ACCEPTED % (line, to_global_id("Activity", new_id).encode())
    found = errors.get(index)
    if found is None:
        return _DUPLICATE % line
    rejected = {
        "line": line,
        "status": "rejected",
        "errors": [{"code": e.code, "message": e.message, "field": e.field} for e in found],
    }
    return orjson.dumps(rejected) + b"\n"


async def _answer(result: LogResult) -> AsyncIterator[bytes]:
    errors = dict(result.rejected)
    total = len(result.new_ids)
    for start in range(1, total + 1, ANSWER_CHUNK):
        stop = min(start + ANSWER_CHUNK, total + 1)
        yield b"".join(_result_line(n, result, errors) for n in range(start, stop))
