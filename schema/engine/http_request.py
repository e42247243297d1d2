"""Reading a GraphQL-over-HTTP request: media types, the body, its parameters, the request id."""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from starlette.requests import HTTPConnection, Request

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_OPERATION_NAME = re.compile(r"^\s*(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)")

Params = tuple[str, dict[str, Any] | None, str | None]


class BadRequestError(Exception):
    def __init__(
        self, message: str, status: int = 400, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def request_id_of(conn: HTTPConnection) -> str:
    """The client's X-Request-Id when it is at most 64 safe characters, else a fresh one."""
    given = conn.headers.get("x-request-id")
    return given if given and SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _media_types(header: str) -> list[tuple[str, float]]:
    found = []
    for entry in header.split(","):
        media, *params = (part.strip() for part in entry.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            found.append((media.lower(), quality))
    return found


def answer_type(conn: HTTPConnection) -> str | None:
    """The media type of the answer, or None when the client accepts no JSON at all."""
    header = conn.headers.get("accept", "").strip()
    if not header:
        return JSON
    best: tuple[float, int, str] | None = None
    for media, quality in _media_types(header):
        if media == GRAPHQL_RESPONSE:
            candidate = (quality, 1, GRAPHQL_RESPONSE)
        elif media in (JSON, "application/*", "*/*"):
            candidate = (quality, 0, JSON)
        else:
            continue
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def wants_ide(request: Request) -> bool:
    """A browser opening the endpoint: asks for HTML over JSON, sends no query."""
    if "query" in request.query_params:
        return False
    types = dict(_media_types(request.headers.get("accept", "")))
    html = types.get("text/html", 0.0)
    return html > 0 and html >= max(types.get(JSON, 0.0), types.get(GRAPHQL_RESPONSE, 0.0))


def check_content_type(request: Request) -> None:
    media, *params = (
        part.strip().lower() for part in request.headers.get("content-type", "").split(";")
    )
    if media != JSON:
        raise BadRequestError("Send the request as application/json.", status=415)
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "charset" and value.strip().strip('"') not in ("utf-8", "utf8"):
            raise BadRequestError("Send the request encoded as utf-8.", status=415)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequestError(f"Request body over {limit} bytes.", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BadRequestError(f"Request body over {limit} bytes.", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_body(body: bytes) -> Params:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequestError("The body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise BadRequestError("The body must be a JSON object.")
    return params_of(payload)


def query_params(request: Request) -> Params:
    """GET: ?query=&variables=&operationName=&extensions= (the maps as JSON strings)."""
    raw: dict[str, Any] = dict(request.query_params)
    for key in ("variables", "extensions"):
        if raw.get(key):
            try:
                raw[key] = orjson.loads(raw[key])
            except orjson.JSONDecodeError:
                raise BadRequestError(f"'{key}' must be a JSON object.") from None
        else:
            raw.pop(key, None)
    return params_of(raw)


def params_of(payload: dict[str, Any]) -> Params:
    query, variables = payload.get("query"), payload.get("variables")
    name, extensions = payload.get("operationName"), payload.get("extensions")
    if not isinstance(query, str) or not query:
        raise BadRequestError("The request needs a 'query' string.")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("'variables' must be a JSON object.")
    if name is not None and not isinstance(name, str):
        raise BadRequestError("'operationName' must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise BadRequestError("'extensions' must be a JSON object.")
    return query, variables, name or None


def operation_name(query: str, name: str | None) -> str | None:
    if name:
        return name
    found = _OPERATION_NAME.match(query)
    return found.group(1) if found else None
