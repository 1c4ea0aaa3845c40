"""OpenTelemetry tracing of requests and the SQL and Redis calls they make; off unless TRACING_ENABLED.

Each app gets its own TracerProvider (never the process-global one), so two apps in one process (tests) do not
share spans, and an app that does not trace installs nothing at all: no middleware, no engine listener, no patch.

- Requests: the ASGI instrumentation's middleware, placed by the app factory just inside the request-ID middleware.
  It continues the caller's W3C ``traceparent`` (and honours its sampled flag), and binds the server span's trace ID
  into the log context, so every log line of the request names the trace it belongs to.
- SQL: the SQLAlchemy instrumentation's per-engine listeners (only this app's engine; the instrumentor's
  ``instrument()`` would also patch ``create_engine`` process-wide).
- Redis: its instrumentation can only patch the redis library process-wide. The first tracing app of the process
  patches it and un-patches it at its shutdown; while it is patched, Redis spans go to that app's provider. One app
  per process (the service) is exact; a second tracing app at the same time (tests) gets no Redis spans.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Only the API here (FastAPI imports it anyway): the SDK, the exporter and the instrumentations are imported when
# tracing is switched on, so a worker that does not trace does not hold them in memory (they and the redis client
# the Redis instrumentation imports cost ~25 MB).
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.trace import Span, get_current_span
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.log_context import bind_log_context
from impl.platform.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("charter.tracing")

# Probes and scrapes arrive every few seconds and would drown the traces worth reading. Matched against the URL
# the middleware builds (scheme://host/path, no query string).
UNTRACED_PATHS = r"://[^/]+/(livez|readyz|health|metrics)$"
TRACES_PATH = "/v1/traces"
# Prometheus (impl/platform/metrics.py) is the service's metrics; the instrumentations' own stay unrecorded.
NO_METRICS = NoOpMeterProvider()
# How long a stopping process waits for the collector to take the spans still queued (see Tracing.shutdown).
EXPORT_AT_SHUTDOWN_SECONDS = 3.0


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL, as the SDK derives it from OTEL_EXPORTER_OTLP_ENDPOINT."""
    return endpoint.rstrip("/") + TRACES_PATH


def _span_name_at_start(scope: Scope) -> tuple[str, dict[str, str]]:
    # The route is not matched yet when the span starts; NameSpanByRoute names it once the router has run.
    return (scope.get("method", "HTTP") if scope["type"] == "http" else "websocket"), {}


def _bind_trace_to_logs(span: Span, _scope: dict[str, Any]) -> None:
    # The server span's trace: the caller's when its traceparent was valid, a new one otherwise. Replaces what
    # the request-ID middleware bound from the header, so log lines and exported traces always agree.
    context = span.get_span_context()
    if context.is_valid:
        bind_log_context(trace_id=format(context.trace_id, "032x"))


class NameSpanByRoute:
    """Names the server span ``GET /api/v1/users/{user_id}`` (OpenTelemetry's HTTP conventions) after routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def naming_send(message: Message) -> None:
            # When the answer starts, before the body is sent: the instrumentation ends the span with the last part.
            if message["type"] in ("http.response.start", "websocket.accept"):
                name_span(scope)
            await send(message)

        try:
            await self.app(scope, receive, naming_send)
        finally:
            name_span(scope)  # nothing sent (an exception on its way out): the span is still open


def name_span(scope: Scope) -> None:
    # The router writes the matched route into this same scope; no route (a 404) keeps the bare method.
    template = getattr(scope.get("route"), "path_format", None)
    span = get_current_span()
    if isinstance(template, str) and span.is_recording():
        span.update_name(f"{scope['method']} {template}" if scope["type"] == "http" else template)
        span.set_attribute("http.route", template)


@dataclass
class Tracing:
    """One app's tracing: its provider, whether this app patched the redis library (and so un-patches it), and the
    exporter to the collector (None when spans are not exported)."""

    provider: TracerProvider
    patched_redis: bool
    exporter: SpanExporter | None = None

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The server-span middleware around ``app``."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        traced: ASGIApp = OpenTelemetryMiddleware(
            NameSpanByRoute(app),
            excluded_urls=UNTRACED_PATHS,
            default_span_details=_span_name_at_start,
            server_request_hook=_bind_trace_to_logs,
            tracer_provider=self.provider,
            meter_provider=NO_METRICS,
            # One span per ASGI message would multiply a streamed response's spans for little insight.
            exclude_spans=["receive", "send"],
        )
        return traced

    async def shutdown(self) -> None:
        """Exports the spans still queued, then stops; the export's HTTP call runs off the event loop.

        For at most EXPORT_AT_SHUTDOWN_SECONDS: the exporter retries a collector that is down with backoff, up to
        its timeout per batch, and the SDK waits up to 30 s for its worker, so a stopping process would ignore
        SIGTERM that long. Past the bound, the exporter is shut down (which ends its retries) and the spans still
        queued are dropped, said in a warning.
        """
        if self.patched_redis:
            from opentelemetry.instrumentation.redis import RedisInstrumentor

            RedisInstrumentor().uninstrument()
        stopping = asyncio.ensure_future(asyncio.to_thread(self.provider.shutdown))
        try:
            await asyncio.wait_for(asyncio.shield(stopping), EXPORT_AT_SHUTDOWN_SECONDS)
        except TimeoutError:
            logger.warning(
                "the collector did not take the queued spans within %g s; the rest are dropped",
                EXPORT_AT_SHUTDOWN_SECONDS,
            )
            if self.exporter is not None:
                self.exporter.shutdown()
            await stopping


def setup_tracing(
    *,
    settings: Settings,
    engine: AsyncEngine,
    service_version: str,
) -> Tracing | None:
    """The app's tracing, or ``None`` (nothing installed) when TRACING_ENABLED is off.

    More span processors may be added to ``Tracing.provider`` (tests add an in-memory exporter's).
    """
    if not settings.tracing_enabled:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    provider = TracerProvider(
        resource=Resource.create(
            {
                "service.name": settings.service_name,
                "service.version": service_version,
                "deployment.environment.name": settings.app_env,
            }
        ),
        # A caller's sampling decision (traceparent's flag) wins; new traces are kept at the configured ratio.
        sampler=ParentBased(root=TraceIdRatioBased(settings.tracing_sample_ratio)),
        shutdown_on_exit=False,  # the app's lifespan shuts it down; an atexit hook would keep every app alive
    )
    if settings.otlp_endpoint is not None:
        # Spans queue in memory and a background thread exports them in batches: requests never wait on the
        # collector. OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT / _CERTIFICATE still apply (read here, not at import).
        otlp = OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint), meter_provider=NO_METRICS)
        provider.add_span_processor(BatchSpanProcessor(otlp))
        exporter: SpanExporter | None = otlp
    else:
        exporter = None
        logger.warning("TRACING_ENABLED without OTLP_ENDPOINT: traces are recorded but not exported")

    # Listeners on this engine only; they go with it (the engine is disposed of at shutdown).
    sqlalchemy_tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    connections = NO_METRICS.get_meter("opentelemetry.instrumentation.sqlalchemy").create_up_down_counter(
        "db.client.connections.usage"
    )
    EngineTracer(sqlalchemy_tracer, engine.sync_engine, connections)  # type: ignore[no-untyped-call]

    patched_redis = False
    redis = RedisInstrumentor()
    if settings.redis_url is not None and not redis.is_instrumented_by_opentelemetry:
        redis.instrument(tracer_provider=provider)
        patched_redis = True
    return Tracing(provider=provider, patched_redis=patched_redis, exporter=exporter)
