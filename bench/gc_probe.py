"""accountflow's app with other GC thresholds, and a clock on every collection.

    PEERS_GC=700,10,10 uvicorn bench.gc_probe:app_from_env --factory

`app.web.app.app_from_env` freezes start-up objects and sets its thresholds; PEERS_GC
(gen0,gen1,gen2) replaces the thresholds after that ("current" keeps them); a suffix
"+drop-loaders" tries one way to leave less to collect. GET /gcstats
answers the CPU seconds spent collecting, the collections and the longest one per generation
since the last GET /gcstats, then starts counting again.
"""

from __future__ import annotations

import gc
import os
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.web import app as server
from schema.context import Context


class GcClock:
    def __init__(self) -> None:
        self.started = 0.0
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        # thread_time: the CPU of the thread collecting, not the time others ran meanwhile.
        if phase == "start":
            self.started = time.thread_time()
            return
        generation, spent = info["generation"], time.thread_time() - self.started
        self.seconds[generation] += spent
        self.collections[generation] += 1
        self.longest[generation] = max(self.longest[generation], spent)

    def take(self) -> dict[str, Any]:
        taken = {
            "gc_seconds": sum(self.seconds),
            "seconds_by_generation": self.seconds,
            "collections": self.collections,
            "longest_seconds": self.longest,
            "cpu_seconds": time.process_time(),
            "threshold": gc.get_threshold(),
        }
        self.seconds, self.collections = [0.0, 0.0, 0.0], [0, 0, 0]
        self.longest = [0.0, 0.0, 0.0]
        return taken


def _drop_loaders_when_settled() -> None:
    """The experiment '+drop-loaders': a request's DataLoaders (their futures and rows) go
    when the request ends, not with the reference cycle graphql-core's execution context
    keeps its Context in (freed only by a collection)."""
    settle = Context.settle

    async def settle_and_drop(self: Context) -> None:
        await settle(self)
        self._loaders.clear()

    Context.settle = settle_and_drop  # type: ignore[method-assign]


def app_from_env() -> Starlette:
    app = server.app_from_env()
    spec, _, extra = os.environ.get("PEERS_GC", "current").partition("+")
    if extra == "drop-loaders":
        _drop_loaders_when_settled()
    if spec != "current":
        first, second, third = (int(part) for part in spec.split(","))
        gc.set_threshold(first, second, third)
    clock = GcClock()
    gc.callbacks.append(clock)

    async def gcstats(request: Request) -> Response:
        return JSONResponse(clock.take())

    app.router.routes.insert(0, Route("/gcstats", gcstats))
    return app
