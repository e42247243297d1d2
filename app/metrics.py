"""The server's Prometheus metrics, right with any number of workers.

`serve --workers N` (N > 1) sets PROMETHEUS_MULTIPROC_DIR before the workers start, so each
worker writes its counters and gauges there and /metrics, on whichever worker answers,
adds them up (prometheus_client's multiprocess mode). Per-process gauges are sampled by
each worker (app.web.gauges); the database's figures (webhook backlog, outbox lag, import
jobs) are read once per scrape.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit.sql import sql_file

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Decided when prometheus_client was imported: whether this process writes to that folder.
MULTIPROCESS = values.ValueClass is not values.MutexValue
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "accountflow_graphql_requests",
    "GraphQL requests by operation and outcome.",
    ["operation", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "accountflow_graphql_request_seconds",
    "GraphQL request latency by operation.",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
COMPILED = Counter(
    "accountflow_compiled_reads",
    "Queries the compiled read path answered (compiled) or left to strawberry, and why:"
    " not_compilable (a field or argument without SQL, or the role may not read it),"
    " refused (an argument strawberry answers with an error), error (the statement failed),"
    " visibility (a REP under TEAM or OWN record visibility).",
    ["outcome"],
    registry=REGISTRY,
)

_MAX_OPERATIONS = 200
_seen: set[str] = set()


def operation_label(name: str | None) -> str:
    """Operation names come from clients: cap how many label values they can create."""
    if not name:
        return "anonymous"
    if name in _seen:
        return name
    if len(_seen) >= _MAX_OPERATIONS or len(name) > 64:
        return "other"
    _seen.add(name)
    return name


REPORT_DATABASE = Counter(
    "accountflow_report_database",
    "Report queries by the database that ran them and why (replica, down, lagging, ...).",
    ["target", "reason"],
    registry=REGISTRY,
)
REPLICA_USABLE = Gauge(
    "accountflow_replica_usable",
    "1 while the report replica is up, streaming and within the lag limit.",
    registry=REGISTRY,
    multiprocess_mode="liveall",
)
REPLICA_LAG = Gauge(
    "accountflow_replica_lag_seconds",
    "How far the report replica's replay is behind, at the last check.",
    registry=REGISTRY,
    multiprocess_mode="liveall",
)

# --- per process, summed over the workers (sampled every few seconds: app.web.gauges) ----
POOL_IN_USE = Gauge(
    "accountflow_db_pool_in_use",
    "Connections of the request pool checked out.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
POOL_WAITING = Gauge(
    "accountflow_db_pool_waiting",
    "Requests waiting for a connection of the request pool.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
SUBSCRIPTIONS = Gauge(
    "accountflow_subscriptions_open",
    "GraphQL subscriptions open.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)

# The usual process_* figures: read at scrape time by one process, or sampled by each
# worker (one series per pid) in multiprocess mode, where ProcessCollector sees only itself.
_PROCESS_FIGURES = {
    "process_cpu_seconds_total": "Total user and system CPU time spent in seconds.",
    "process_resident_memory_bytes": "Resident memory size in bytes.",
    "process_virtual_memory_bytes": "Virtual memory size in bytes.",
    "process_open_fds": "Number of open file descriptors.",
    "process_start_time_seconds": "Start time of the process since unix epoch in seconds.",
}
_PROCESS_GAUGES: dict[str, Gauge] = {}
if MULTIPROCESS:
    _PROCESS_GAUGES = {
        name: Gauge(name, doc, registry=None, multiprocess_mode="liveall")
        for name, doc in _PROCESS_FIGURES.items()
    }
else:
    ProcessCollector(registry=REGISTRY)
    PlatformCollector(registry=REGISTRY)


def sample_process() -> None:
    """This worker's process figures, written where /metrics on any worker reads them."""
    if not MULTIPROCESS:
        return
    for family in ProcessCollector(registry=None).collect():
        for sample in family.samples:
            gauge = _PROCESS_GAUGES.get(sample.name)
            if gauge is not None:
                gauge.set(sample.value)


def process_ended() -> None:
    """Drop this worker's live gauges (its pool, its subscriptions) when it stops."""
    if MULTIPROCESS:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


# --- the database's figures, read once per scrape ---------------------------------------
FIGURES = sql_file(__package__, "metrics_figures.sql")


@dataclass(frozen=True, slots=True)
class Figures:
    webhook_backlog: int
    oldest_pending_seconds: float
    outbox_lag_seconds: float  # how long the most overdue delivery has been due
    imports_queued: int
    imports_running: int


async def read_figures(engine: AsyncEngine) -> Figures | None:
    """The figures, or None when PostgreSQL cannot be read (accountflow_database_up 0)."""
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(FIGURES)).one()
    except (DBAPIError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        log.warning("/metrics could not read the database: %s", error)
        return None
    return Figures(
        webhook_backlog=row.backlog,
        oldest_pending_seconds=float(row.oldest_pending or 0),
        outbox_lag_seconds=float(row.outbox_lag or 0),
        imports_queued=row.imports_queued,
        imports_running=row.imports_running,
    )


class _FiguresCollector(Collector):
    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures
        up = "1 when /metrics could read PostgreSQL."
        yield GaugeMetricFamily("accountflow_database_up", up, value=int(figures is not None))
        if figures is None:
            return
        yield from (
            GaugeMetricFamily(name, doc, value=value)
            for name, doc, value in (
                (
                    "accountflow_webhook_backlog",
                    "Webhook deliveries pending.",
                    figures.webhook_backlog,
                ),
                (
                    "accountflow_webhook_oldest_pending_seconds",
                    "Age of the oldest pending webhook delivery.",
                    figures.oldest_pending_seconds,
                ),
                (
                    "accountflow_outbox_lag_seconds",
                    "How long the most overdue webhook delivery has been due (0: none).",
                    figures.outbox_lag_seconds,
                ),
            )
        )
        jobs = GaugeMetricFamily(
            "accountflow_import_jobs", "CSV imports by status.", labels=["status"]
        )
        jobs.add_metric(["queued"], figures.imports_queued)
        jobs.add_metric(["running"], figures.imports_running)
        yield jobs


def exposition(figures: Figures | None) -> bytes:
    """The text /metrics answers: every worker's metrics, then the database's figures."""
    registry = REGISTRY
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_FiguresCollector(figures))
    return generate_latest(registry) + generate_latest(snapshot)
