"""The composition root: the Starlette app, its one authentication backend and its routes."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware

from app import db, logs, tracing
from app.settings import Settings
from app.web.auth import EXCEPTION_HANDLERS, on_error
from app.web.backend import EdgeBackend
from app.web.lifespan import Setup, lifespan
from app.web.observe import DatabaseAway, Observe
from app.web.routes import ROUTES
from schema import build_schema
from schema.engine import graphql_schema
from schema.engine.compiled import CompiledReads
from schema.engine.limits import CostBudget


def create_app(
    settings: Settings,
    database_url: str | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    """The ASGI app; `clock` gives each GraphQL request its instant (tests pin it)."""
    schema = build_schema(settings.limits)
    compiled = (
        CompiledReads(graphql_schema(schema), settings.limits, production=settings.production)
        if settings.compiled_reads
        else None
    )
    setup = Setup(
        settings=settings,
        url=database_url or db.resolve_database_url(settings),
        schema=schema,
        budget=CostBudget(settings.limits.cost_per_minute),
        compiled=compiled,
        clock=clock,
    )
    return Starlette(
        routes=ROUTES,
        middleware=middleware(settings),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan(setup),
    )


def middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: the request's span (when tracing), its id and access line, CORS
    (when origins are set), the 503 while PostgreSQL is away, authentication."""
    layers = []
    if tracing.enabled():
        layers.append(Middleware(tracing.asgi_middleware))
    layers.append(Middleware(Observe))
    if settings.operate.cors_origins:
        layers.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.operate.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-request-id"],
                expose_headers=["x-request-id", "retry-after"],
                allow_credentials=False,
                max_age=600,
            )
        )
    layers.append(Middleware(DatabaseAway))
    layers.append(Middleware(AuthenticationMiddleware, backend=EdgeBackend(), on_error=on_error))
    return layers


def tune_gc() -> None:
    """Fewer, cheaper collections for a request server.

    A GraphQL response allocates thousands of short-lived objects, so the default gen-0
    threshold (700) triggers collections that mostly re-scan long-lived module state;
    freezing what start-up created takes that state out of every later collection.
    Chosen against Python's 700 and gen-0 thresholds of 50,000 and 100,000 under load:
    the larger ones collect less often but stop the process for 100-330 ms at a time
    (bench/README.md, "Peers").
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def app_from_env() -> Starlette:
    """uvicorn's factory for worker processes: the database URL comes from the environment."""
    settings = Settings.from_env()
    logs.configure(settings)  # done already when `serve` started uvicorn with logs.log_config
    logging.captureWarnings(True)  # a Python warning is a log line too, in the same format
    tracing.setup()
    app = create_app(settings)
    tune_gc()
    return app
