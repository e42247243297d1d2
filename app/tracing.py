"""OpenTelemetry traces, on when the standard OTEL_* variables ask for them.

On when OTEL_EXPORTER_OTLP_ENDPOINT (or its _TRACES_ form) or OTEL_TRACES_EXPORTER is set
(`none` and OTEL_SDK_DISABLED=true keep it off); the exporter is OTLP over HTTP/protobuf
unless OTEL_TRACES_EXPORTER says `console`. The SDK reads the rest (endpoint, headers,
sampler, batch sizes, resource attributes) from the environment itself. Spans: one per
request continuing the caller's `traceparent` (the ASGI middleware, added by create_app),
one per GraphQL operation (`operation_span`: name, cost, compiled or not; no per-field hook,
which would turn the fast paths off), one per SQL statement (asyncpg, so the compiled
reads' raw statements too), and one per webhook delivery (app/webhooks/client.py) and per other
outgoing httpx request, each passing `traceparent` on. Off, nothing is imported, wrapped or added.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

from app import observe
from app.settings import SettingsError

SERVICE_NAME = "accountflow"
_state = {"enabled": False}


def wanted(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters == "none":
        return False
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return bool(exporters) or any(env.get(name) for name in endpoints)


def enabled() -> bool:
    return _state["enabled"]


def setup(env: Mapping[str, str] | None = None) -> bool:
    """Start tracing in this process when the environment asks for it (once); True if on."""
    if _state["enabled"] or not wanted(env):
        return _state["enabled"]
    from opentelemetry import trace
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    env = os.environ if env is None else env
    provider = TracerProvider(resource=_resource())
    provider.sampler = _sql_in_traces_only(provider.sampler)  # OTEL_TRACES_SAMPLER's, wrapped
    for exporter in _exporters(env):
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _state["enabled"] = True
    return True


def _sql_in_traces_only(sampler: Any) -> Any:
    """A statement outside any trace (a background job polling) is not a trace of its own:
    without this, the webhook worker alone would start several traces a second."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class SqlInTracesOnly(Sampler):
        def should_sample(
            self,
            parent_context: Any,
            trace_id: int,
            name: str,
            kind: Any = None,
            attributes: Any = None,
            links: Any = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            orphan = not trace.get_current_span(parent_context).get_span_context().is_valid
            if orphan and attributes and "db.system" in attributes:
                return SamplingResult(Decision.DROP)
            return sampler.should_sample(  # type: ignore[no-any-return]
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"SqlInTracesOnly{{{sampler.get_description()}}}"

    return SqlInTracesOnly()


def _resource() -> Any:
    from opentelemetry.sdk.resources import SERVICE_NAME as NAME
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({NAME: SERVICE_NAME}))
    return resource


def _exporters(env: Mapping[str, str]) -> list[Any]:
    names = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",")]
    exporters = []
    for name in filter(None, names):
        if name == "otlp":
            exporters.append(_otlp(env))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        else:
            raise SettingsError(f"OTEL_TRACES_EXPORTER: {name!r} is not otlp, console or none")
    return exporters


def _otlp(env: Mapping[str, str]) -> Any:
    protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip().lower() != "http/protobuf":
        raise SettingsError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL: only http/protobuf is shipped, got {protocol!r}"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def asgi_middleware(app: Any) -> Any:
    """`app` inside the request's span (create_app's outermost layer when tracing)."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # No span per ASGI message: a streamed export would make thousands.
    return OpenTelemetryMiddleware(app, exclude_spans=["receive", "send"])


def current_trace_id() -> str | None:
    if not _state["enabled"]:
        return None
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


@contextlib.contextmanager
def operation_span() -> Iterator[None]:
    """The GraphQL operation's span around the endpoint; its attributes are read from the
    request's record (app.observe) when it ends."""
    if not _state["enabled"]:
        yield
        return
    from opentelemetry import trace

    tracer = trace.get_tracer("accountflow.graphql")
    with tracer.start_as_current_span("graphql") as span:
        try:
            yield
        finally:
            observed = observe.current()
            if observed is not None and observed.operation is not None:
                span.update_name(f"graphql {observed.operation}")
                span.set_attribute("graphql.operation.name", observed.operation)
            if observed is not None and observed.cost is not None:
                span.set_attribute("accountflow.graphql.cost", observed.cost)
                span.set_attribute("accountflow.graphql.compiled", bool(observed.compiled))
