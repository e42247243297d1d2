"""The floor for Python: AccountList's JSON from one hand-written SQL query, no GraphQL.

    DATABASE_URL=... uvicorn bench.bare:app_from_env --factory

Answers POST /graphql with the same body shape as the GraphQL endpoint for the contract's
`AccountList` (only `variables.first` is read). The generated data has no assignments or
pipeline entries, so those are always empty here, as they are in the GraphQL answer.
"""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.kit.cursor import encode_cursor

PAGE = """
WITH page AS (
    SELECT id, name, classification, industry, city, region, country_code
    FROM accounts
    WHERE archived_at IS NULL
    ORDER BY name, id
    LIMIT $1
)
SELECT p.*, c.ids, c.names, c.roles,
       (SELECT count(*) FROM accounts WHERE archived_at IS NULL) AS total
FROM page p
LEFT JOIN LATERAL (
    SELECT array_agg(id ORDER BY id) AS ids,
           array_agg(name ORDER BY id) AS names,
           array_agg(buying_role ORDER BY id) AS roles
    FROM contacts
    WHERE account_id = p.id
) c ON true
ORDER BY p.name, p.id
"""


def _gid(type_name: str, pk: int) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _node(row: asyncpg.Record) -> dict[str, Any]:
    ids = row["ids"] or []
    return {
        "id": _gid("Account", row["id"]),
        "name": row["name"],
        "classification": row["classification"],
        "industry": row["industry"],
        "address": {
            "city": row["city"],
            "region": row["region"],
            "countryCode": row["country_code"],
        },
        "assignments": [],
        "contacts": [
            {"id": _gid("Contact", pk), "name": name, "buyingRole": role}
            for pk, name, role in zip(ids, row["names"] or [], row["roles"] or [], strict=True)
        ],
        "pipelineEntry": None,
    }


def account_list(rows: list[asyncpg.Record], first: int) -> dict[str, Any]:
    visible = rows[:first]
    cursors = [encode_cursor((row["name"], row["id"])) for row in visible]
    edges = [
        {"cursor": cursor, "node": _node(row)} for row, cursor in zip(visible, cursors, strict=True)
    ]
    return {
        "data": {
            "accounts": {
                "totalCount": rows[0]["total"] if rows else 0,
                "pageInfo": {
                    "hasNextPage": len(rows) > first,
                    "endCursor": cursors[-1] if cursors else None,
                },
                "edges": edges,
            }
        }
    }


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def create_app(url: str) -> Starlette:
    pools: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pools["db"] = await asyncpg.create_pool(asyncpg_dsn(url), min_size=4, max_size=16)
        try:
            yield
        finally:
            await pools["db"].close()

    async def accounts(request: Request) -> Response:
        body = orjson.loads(await request.body())
        first = int((body.get("variables") or {}).get("first") or 50)
        rows = await pools["db"].fetch(PAGE, first + 1)
        return Response(orjson.dumps(account_list(rows, first)), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    routes = [Route("/graphql", accounts, methods=["POST"]), Route("/healthz", healthz)]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_env() -> Starlette:
    return create_app(os.environ["DATABASE_URL"])
