"""A document's tokens are bounded before it is parsed (ACCOUNTFLOW_MAX_TOKENS), and a new
document is parsed once whichever path answers it."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
from graphql.language import Lexer, Source, TokenKind
from strawberry.extensions.parser_cache import _get_parse_cache

from app.models.auth import Role
from app.settings import Limits, Settings
from schema import build_schema
from tests.support import Api, contract_operations

LIMIT = 10_000  # the default ACCOUNTFLOW_MAX_TOKENS
REFUSED = {"code": "TOO_MANY_TOKENS", "maxTokens": LIMIT}


def typenames(tokens: int) -> str:
    """A document of `tokens` tokens: braces around `__typename`s."""
    return "{" + " __typename" * (tokens - 2) + " }"


def padded(tokens: int) -> str:
    """A valid document of exactly `tokens` tokens: a long list in a filter."""
    items = tokens - tokens_of(padding(0))
    return padding(items)


def padding(items: int) -> str:
    classes = "[" + " A" * items + "]"
    return "{ accounts(filter: {classification: " + classes + "}) { totalCount } }"


def tokens_of(text: str) -> int:
    lexer, count = Lexer(Source(text)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


async def test_a_huge_document_is_refused_at_once_and_the_worker_keeps_answering(
    api: Api, client: httpx.AsyncClient
) -> None:
    rep = await api.caller(Role.REP)
    huge = typenames(175_000)  # 1.9 MB, under the 2 MiB body limit
    assert 1_900_000 < len(huge) < 2 * 1024 * 1024 - 100
    started = time.perf_counter()
    request = asyncio.create_task(api.post(huge, caller=rep))
    slowest = 0.0
    while not request.done():  # /healthz on the same worker (event loop) meanwhile
        asked = time.perf_counter()
        await asyncio.sleep(0.01)  # the loop runs the GraphQL request, then comes back
        assert (await client.get("/healthz")).status_code == 200
        slowest = max(slowest, time.perf_counter() - asked)
    response = await request
    assert time.perf_counter() - started < 1.0
    assert slowest < 0.5
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert [e["extensions"] for e in body["errors"]] == [REFUSED]
    assert body["extensions"] == {"cost": 0}


async def test_the_limit_counts_every_token(api: Api, client: httpx.AsyncClient) -> None:
    rep = await api.caller(Role.REP)
    assert tokens_of(padded(LIMIT)) == LIMIT
    at_limit = await api.gql(padded(LIMIT), caller=rep)
    assert at_limit["data"] == {"accounts": {"totalCount": 0}}
    headers = {
        "authorization": f"Bearer {rep.token}",
        "accept": "application/graphql-response+json",
    }
    over = await client.post("/graphql", json={"query": padded(LIMIT + 1)}, headers=headers)
    assert over.status_code == 400  # a request error: no data, nothing ran
    assert over.json() == {
        "errors": [
            {
                "message": f"The document has more than {LIMIT} tokens; send large inputs"
                " as variables.",
                "extensions": REFUSED,
            }
        ],
        "extensions": {"cost": 0},
    }


async def test_a_new_document_is_parsed_once_for_both_paths(api: Api) -> None:
    """The endpoint, the compiled path and strawberry read one LRU (ParserCache's)."""
    rep = await api.caller(Role.REP)
    cache: Any = _get_parse_cache(256)  # an lru_cache: its cache_info() counts
    alias = f"n{uuid.uuid4().hex}"
    for query, executor in (
        (f"{{ {alias}: viewer {{ id }} }}", "compiled"),
        (f"{{ {alias}: viewer {{ id }} pipelines {{ key }} }}", "graphql"),
    ):
        before = cache.cache_info()
        response = await api.post(query, caller=rep)
        after = cache.cache_info()
        assert response.headers["x-accountflow-executor"] == executor
        assert "errors" not in response.json()
        assert after.misses - before.misses == 1  # parsed once
        assert after.hits - before.hits == (1 if executor == "compiled" else 2)


async def test_the_schema_bounds_tokens_on_every_transport() -> None:
    """Subscriptions parse through strawberry alone: the bound is strawberry's parse option."""
    schema = build_schema(Limits(max_tokens=5))
    assert (await schema.execute("{ __typename __typename __typename }")).errors is None
    result = await schema.execute("{ __typename __typename __typename __typename }")
    assert [e.message for e in result.errors or []] == [
        "Syntax Error: Document contains more than 5 tokens. Parsing aborted."
    ]


def test_the_default_admits_every_contract_operation_twenty_times_over() -> None:
    largest = max(tokens_of(query) for query in contract_operations().values())
    assert largest * 20 <= LIMIT


def test_the_limit_is_a_setting() -> None:
    assert Settings.from_env({"ACCOUNTFLOW_MAX_TOKENS": "2000"}).limits.max_tokens == 2000
    assert Settings.from_env({}).limits.max_tokens == Limits().max_tokens == LIMIT
