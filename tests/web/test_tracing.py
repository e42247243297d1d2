"""Traces from a real server to a real OTLP/HTTP receiver: the caller's trace continued
through the request, the GraphQL operation and its SQL; webhook deliveries as client spans
that pass `traceparent` on. Off unless the OTEL_* variables ask for it."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app import tracing
from app.models.auth import Role
from app.settings import Settings
from app.web.app import middleware
from tests.support import Api, contract_operations
from tests.web.otlp import CLIENT, SERVER, Collector, Span, collector
from tests.web.serve import serve
from tests.webhooks.receiver import Receiver

CREATE = 'mutation Create { createAccount(input: {name: "Traced"}) { errors { code } } }'
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def _in(spans: list[Span], trace_id: str) -> list[Span]:
    return [span for span in spans if span.trace_id == trace_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver().start()
    yield found
    found.stop()


@pytest.fixture
def otlp() -> Iterator[Collector]:
    with collector() as found:
        yield found


async def test_a_request_continues_the_callers_trace_down_to_sql_and_webhooks(
    api: Api, database_url: str, tmp_path: Path, receiver: Receiver, otlp: Collector
) -> None:
    admin = await api.caller(Role.ADMIN)
    await api.session.execute(
        text("INSERT INTO webhooks (url, events, secret) VALUES (:url, :events, :secret)"),
        {"url": receiver.url, "events": ["account.created"], "secret": SECRET},
    )
    await api.session.commit()
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    env = {
        "DATABASE_URL": database_url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "ACCOUNTFLOW_WEBHOOK_ALLOW_PRIVATE": "1",
    }
    with serve(tmp_path, env) as served:
        headers = {"Authorization": f"Bearer {admin.token}"}
        async with httpx.AsyncClient(base_url=served.base, headers=headers) as client:
            body = {"query": contract_operations()["AccountList"]}
            traced = {"traceparent": f"00-{trace_id}-{parent}-01"}
            read = await client.post("/graphql", json=body, headers=traced)
            assert read.headers["x-accountflow-executor"] == "compiled"
            created = await client.post("/graphql", json={"query": CREATE})
            assert created.json()["data"]["createAccount"]["errors"] == []
        otlp.wait_for(lambda s: len(_in(s, trace_id)) >= 3 and bool(receiver.received))
        _, hook_trace, hook_span, _ = receiver.received[0].headers["traceparent"].split("-")
        spans = otlp.wait_for(lambda s: any(x.span_id == hook_span for x in s))
    access = [line for line in served.stderr_lines() if "accountflow.access: POST" in line]
    assert f"trace_id={trace_id}" in access[0]  # the request's lines name its trace

    ours = _in(spans, trace_id)
    server = next(s for s in ours if s.kind == SERVER)
    assert server.parent_id == parent
    assert server.service == "accountflow"
    operation = next(s for s in ours if s.name == "graphql AccountList")
    assert operation.parent_id == server.span_id
    assert operation.attributes["graphql.operation.name"] == "AccountList"
    assert operation.attributes["accountflow.graphql.compiled"] is True
    assert operation.attributes["accountflow.graphql.cost"] > 0
    sql = [s for s in ours if s.kind == CLIENT and s.parent_id == operation.span_id]
    assert any(s.name == "SELECT" for s in sql), ours
    hook = next(s for s in spans if s.span_id == hook_span)
    assert (hook.trace_id, hook.kind) == (hook_trace, CLIENT)
    assert hook.attributes.get("http.request.method", hook.attributes.get("http.method")) == "POST"
    # Statements outside any request or delivery (the jobs' polling) start no trace.
    assert all(s.parent_id or "db.system" not in s.attributes for s in spans)


def test_tracing_stays_off_without_the_otel_variables(tmp_path: Path) -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.enabled()  # this test process never asked
    settings = Settings.from_env({"ACCOUNTFLOW_DATA_DIR": str(tmp_path)})
    layers = [layer.cls.__name__ for layer in middleware(settings)]  # type: ignore[attr-defined]
    assert layers == ["Observe", "DatabaseAway", "AuthenticationMiddleware"]
