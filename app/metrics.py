from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
    " refused (an argument strawberry answers with an error), error (the statement failed).",
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
)
REPLICA_LAG = Gauge(
    "accountflow_replica_lag_seconds",
    "How far the report replica's replay is behind, at the last check.",
    registry=REGISTRY,
)
