"""OpenTelemetry tracing: off by default (nothing installed), and when on, the caller's trace continued through SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from impl.app import create_app
from impl.platform.tracing import Tracing, traces_url
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, sign_in, test_settings
from tests.impl.platform.log_capture import captured_logs
from tests.otlp_collector import Collector, otlp_collector

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
LOGIN = "/api/v1/auth/login"


@dataclass
class TracedApp:
    client: TestClient
    spans: InMemorySpanExporter

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def server_spans(self) -> list[ReadableSpan]:
        return [span for span in self.finished() if span.kind is SpanKind.SERVER]

    def sign_in(self, **headers: str) -> None:
        response = self.client.post(LOGIN, json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, headers=headers)
        assert response.status_code == 200, response.text


def tracing_of(app: FastAPI) -> Tracing:
    tracing = app.state.tracing
    assert isinstance(tracing, Tracing)
    return tracing


def started(app: FastAPI) -> Iterator[TracedApp]:
    spans = InMemorySpanExporter()
    # Synchronous export: a span is readable as soon as it ends, no batching delay.
    tracing_of(app).provider.add_span_processor(SimpleSpanProcessor(spans))
    with TestClient(app, raise_server_exceptions=False) as client:
        spans.clear()  # start-up's own SQL (migrations, the admin) belongs to no request
        yield TracedApp(client=client, spans=spans)


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[TracedApp]:
    yield from started(create_app(test_settings(tmp_path / "data", tracing_enabled=True)))


def hex_trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")


def ancestors(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> Iterator[ReadableSpan]:
    by_id = {other.context.span_id: other for other in spans if other.context is not None}
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        span = by_id[parent.span_id]
        yield span
        parent = span.parent


def middleware_chain(app: FastAPI) -> list[object]:
    layers: list[object] = []
    layer: object = app.middleware_stack
    while layer is not None and len(layers) < 50:
        layers.append(layer)
        layer = getattr(layer, "app", None)
    return layers


def test_a_request_with_a_traceparent_continues_the_callers_trace(traced: TracedApp) -> None:
    traced.sign_in(traceparent=TRACEPARENT)

    [server] = traced.server_spans()
    assert hex_trace_id(server) == TRACE_ID
    assert server.parent is not None
    assert server.parent.is_remote
    assert format(server.parent.span_id, "016x") == PARENT_SPAN_ID


def test_the_server_span_is_named_by_method_and_route_template(traced: TracedApp) -> None:
    traced.sign_in()

    [server] = traced.server_spans()
    assert server.name == f"POST {LOGIN}"
    assert server.attributes is not None
    assert server.attributes["http.route"] == LOGIN


def test_the_sql_of_a_request_is_traced_inside_its_server_span(traced: TracedApp) -> None:
    traced.sign_in(traceparent=TRACEPARENT)

    spans = traced.finished()
    [server] = traced.server_spans()
    queries = [
        span for span in spans if span.kind is SpanKind.CLIENT and span.attributes and "db.statement" in span.attributes
    ]
    assert queries, [span.name for span in spans]
    for query in queries:
        assert hex_trace_id(query) == TRACE_ID
        assert server in list(ancestors(query, spans))


def test_a_request_without_traceparent_starts_a_new_trace(traced: TracedApp) -> None:
    traced.sign_in()

    [server] = traced.server_spans()
    assert server.parent is None
    assert hex_trace_id(server) != TRACE_ID


def test_probes_and_scrapes_are_not_traced(traced: TracedApp) -> None:
    for path in ("/livez", "/health", "/metrics"):
        assert traced.client.get(path).status_code == 200

    assert traced.server_spans() == []


def test_the_access_log_names_the_trace_of_the_server_span(traced: TracedApp) -> None:
    with captured_logs() as logs:
        logs.follow(traced.client.app.state.answered)  # type: ignore[attr-defined]
        traced.sign_in()  # no traceparent: the trace ID is the one the server span started
        traced.sign_in(traceparent=TRACEPARENT)
        first, second = logs.access_lines()

    new_trace, continued = traced.server_spans()
    assert first["trace_id"] == hex_trace_id(new_trace)
    assert second["trace_id"] == hex_trace_id(continued) == TRACE_ID


def test_tracing_is_off_by_default_and_then_installs_nothing(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))

    assert app.state.tracing is None
    with TestClient(app) as client, captured_logs() as logs:
        logs.follow(app.state.answered)
        assert client.get("/livez").status_code == 200
        layers = middleware_chain(app)
        [line] = logs.access_lines()
    assert not any(isinstance(layer, OpenTelemetryMiddleware) for layer in layers)
    assert len(layers) > 3  # the chain was really walked (request ID, access log, ...)
    assert "trace_id" not in line  # no span, so no trace the caller did not send


def test_when_on_the_tracing_middleware_sits_just_inside_the_request_id(traced: TracedApp) -> None:
    app = traced.client.app
    assert isinstance(app, FastAPI)
    layers = middleware_chain(app)

    assert isinstance(layers[1], OpenTelemetryMiddleware)


@pytest.fixture
def collector() -> Iterator[Collector]:
    with otlp_collector() as running:
        yield running


def test_spans_still_queued_are_exported_to_the_collector_at_shutdown(tmp_path: Path, collector: Collector) -> None:
    app = create_app(test_settings(tmp_path / "data", tracing_enabled=True, otlp_endpoint=collector.url))
    with TestClient(app) as client:
        assert client.get("/api/v1/users", headers={"traceparent": TRACEPARENT}).status_code == 401
        # Batched: nothing need have left yet; the lifespan's end must flush it.

    assert collector.exports
    assert all(path == "/v1/traces" for path, _ in collector.exports)
    assert all(content_type == "application/x-protobuf" for _, content_type in collector.exports)


def test_the_otlp_endpoint_is_the_collectors_base_url() -> None:
    assert traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"


def test_redis_is_traced_while_the_app_runs_and_released_after(tmp_path: Path, redis_url: str) -> None:
    app = create_app(test_settings(tmp_path / "data", tracing_enabled=True, redis_url=redis_url))
    redis = RedisInstrumentor()
    for traced in started(app):
        assert redis.is_instrumented_by_opentelemetry
        token = sign_in(traced.client)
        me = traced.client.get("/api/v1/auth/me", headers=bearer(token))
        assert me.status_code == 200  # its token is checked against the revocations in Redis
        assert any(span.attributes and span.attributes.get("db.system") == "redis" for span in traced.finished())

    assert not redis.is_instrumented_by_opentelemetry
