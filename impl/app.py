"""The app factory: the one place that wires the platform layer, the generated routers and the domain services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from generated.api import (
    build_auth_router,
    build_demo_router,
    build_events_router,
    build_files_router,
    build_health_router,
    build_observability_router,
    build_users_router,
)
from generated.api.deprecations import DEPRECATIONS
from generated.api.header_parameters import HEADER_PARAMETERS
from impl.chat.options import ChatOptions
from impl.chat.router import build_chat_router
from impl.demo.service import STATISTICS_MAX_BODY_BYTES, STATISTICS_PATH, DemoService
from impl.files.service import COLLECTION as FILES_COLLECTION
from impl.health.service import HealthService
from impl.platform.cors import ProblemCORSMiddleware, cors_options
from impl.platform.db.errors import install_database_error_handlers
from impl.platform.metrics_endpoint import MetricsEndpoint, metrics_access
from impl.platform.middleware.answered import AnsweredRequests
from impl.platform.middleware.body_limit import BodyLimitMiddleware
from impl.platform.middleware.deprecation import DeprecationHeadersMiddleware
from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.request_timeout import RequestDeadlines
from impl.platform.middleware.security_headers import SecurityHeaders
from impl.platform.openapi_document import (
    DOCS_ASSETS,
    DOCUMENTATION_PATHS,
    OpenApiDocument,
    mount_documentation,
    verify_routes,
)
from impl.platform.problems import install_problem_handlers
from impl.platform.settings import Settings
from impl.platform.shadowed_paths import guard_shadowed_paths
from impl.platform.spec_headers import SpecHeaders
from impl.platform.tracing import Tracing
from impl.streams.service import EventsService
from impl.streams.stream import StreamTiming
from impl.wiring.lifespan import lifespan_of
from impl.wiring.services import Services, build_services, sample_levels

# The HTML pages (and their assets) get the docs' CSP; the raw documents (.json, .yaml) keep the API's.
DOCS_PAGES = (*sorted(path for path in DOCUMENTATION_PATHS if not path.endswith((".json", ".yaml"))), DOCS_ASSETS)


class CharterApp(FastAPI):
    """FastAPI that describes itself with the hand-written document and puts the edge middleware outermost."""

    answered: AnsweredRequests | None = None  # set by create_app: the way out (counters, access line) of each answer
    deadlines: RequestDeadlines | None = None  # set by create_app; the edge middleware keeps the time budget
    tracing: Tracing | None = None  # set by create_app when TRACING_ENABLED; otherwise no tracing layer at all

    def __init__(self, *, document: OpenApiDocument, trusted_proxies: list[str], **kwargs: Any) -> None:
        super().__init__(title=document.title, version=document.version, **kwargs)
        self.document = document
        self.trusted_proxies = trusted_proxies

    def openapi(self) -> dict[str, Any]:
        # Never FastAPI's code-derived schema: whoever asks the app (tools, tests) gets the contract itself.
        return self.document.content

    def build_middleware_stack(self) -> ASGIApp:
        # ``add_middleware`` would place these inside Starlette's ServerErrorMiddleware, and the 500 answer would
        # then leave without the request's ID or the security headers.
        app = super().build_middleware_stack()
        if self.trusted_proxies:
            # uvicorn's own implementation: X-Forwarded-For is believed only from these peers, so a client cannot
            # choose its address (and with it, its rate-limit budget).
            # uvicorn types ASGI apps with its own TypedDicts; the object is a plain ASGI app either way.
            app = cast(ASGIApp, ProxyHeadersMiddleware(cast(Any, app), trusted_hosts=self.trusted_proxies))
        if self.tracing is not None:
            # Inside the edge (it binds its span's trace_id into the log context the edge began, which the access
            # line then names), outside everything else (the span covers the whole answer).
            app = self.tracing.middleware(app)
        # Outermost: request ID, security and rate-limit headers, metrics and the access line, for every answer
        # (a 500, a 413, a 504 too). It reads the client address after the proxy headers rewrote it.
        return EdgeMiddleware(
            app,
            security=SecurityHeaders(docs_paths=DOCS_PAGES),
            answered=self.answered,
            deadlines=self.deadlines,
        )


def add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes, straight into the app's own list.

    ``include_router`` keeps each router as a branch that every request walks twice (to match it, then to handle
    it), re-checking the branch's version each time: a fifth of an authenticated read (py-spy, ``make bench``).
    The generated routers need nothing an inclusion adds (no prefix, tags or dependencies), so their routes join
    the app's directly, and routing is the plain walk a bare FastAPI app does. One thing an inclusion would add:
    ``app.dependency_overrides`` does not reach these routes. Their dependencies are closures made per app (the
    guard's, the content-type checks), which no override could name anyway; tests use real collaborators.
    """
    app.router.routes.extend(router.routes)


def create_app(settings: Settings, *, tune_collector: bool = False) -> FastAPI:
    """The service. ``tune_collector``: only for the process that serves it (``impl.main``), see the lifespan."""
    services = build_services(settings)
    sample_levels(services)
    app = CharterApp(
        document=services.document,
        trusted_proxies=settings.trusted_proxies,
        debug=False,  # never render tracebacks, whatever the environment
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan_of(settings, services, tune_collector=tune_collector),
    )
    app.state.settings = settings
    app.state.events = services.events
    app.state.streams = services.stream_hub
    app.state.metrics = services.metrics
    app.state.answered = services.answered
    app.answered = services.answered
    app.state.tracing = services.tracing
    app.tracing = services.tracing
    app.state.shutdown = services.shutdown
    app.state.chat_connections = services.chat_connections
    install_problem_handlers(app, header_parameters=HEADER_PARAMETERS)
    install_database_error_handlers(app)
    add_layers(app, settings, services)
    add_all_routes(app, settings, services)
    return app


# An ASGI layer class and its options: ``cls(app, **options)``.
Layer = tuple[Callable[..., ASGIApp], dict[str, Any]]


def outer_layers(settings: Settings, document: OpenApiDocument) -> list[Layer]:
    """The layers every answer goes out through, innermost first: the app's own answers and the edge's 504 alike
    (a browser needs the CORS headers to read a 504 too)."""
    layers: list[Layer] = []
    if DEPRECATIONS:
        # Only when the spec deprecates an operation: otherwise no layer at all (see generated/api/deprecations.py).
        layers.append((DeprecationHeadersMiddleware, {"deprecations": DEPRECATIONS}))
    # The headers a browser may send and read are the spec's (its header parameters and response headers).
    cors = cors_options(
        app_env=settings.app_env, allow_origins=settings.cors_allow_origins, headers=SpecHeaders.of(document.content)
    )
    if cors is not None:
        layers.append((ProblemCORSMiddleware, cors))
    return layers


def add_layers(app: CharterApp, settings: Settings, services: Services) -> None:
    """The middleware inside the edge (the edge itself is placed by CharterApp.build_middleware_stack)."""
    # Uploads stream far more than a JSON body may; the files service counts the file itself while it streams.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        limits_by_path={
            FILES_COLLECTION: services.files.max_request_bytes,
            STATISTICS_PATH: STATISTICS_MAX_BODY_BYTES,
        },
    )
    # The edge keeps the time budget; its 504 goes out through the same outer layers as every other answer.
    deadlines = RequestDeadlines(timeout_seconds=settings.request_timeout_seconds)
    for layer, options in outer_layers(settings, services.document):
        app.add_middleware(layer, **options)  # each added one is outside the ones before
        deadlines.answer = layer(deadlines.answer, **options)
    app.deadlines = deadlines


def add_all_routes(app: CharterApp, settings: Settings, services: Services) -> None:
    """The spec's operations, the chat, the docs; then the routes are checked against the spec."""
    s = services
    guard = s.guard
    health = HealthService(version=s.document.version, readiness=s.readiness, draining=lambda: s.shutdown.draining)
    # Routes are tried in order, each a regular expression, so the most requested come first: the probes, then the
    # user reads (a sign-in or a token refresh costs an Argon2 hash or a database write; nine more route tests
    # are nothing to it, while they were a twentieth of a cached user read). No two tags' paths overlap, so the
    # order of the tags decides nothing else.
    add_routes(app, build_health_router(health, guard))
    add_routes(app, build_users_router(s.users, guard))
    add_routes(app, build_auth_router(s.auth, guard))
    add_routes(app, build_files_router(s.files, guard))
    events_api = EventsService(
        bus=s.events,
        hub=s.stream_hub,
        timing=StreamTiming(
            tick_seconds=settings.sse_tick_seconds,
            heartbeat_seconds=settings.sse_heartbeat_seconds,
            recheck_seconds=settings.channel_recheck_seconds,
        ),
        still_allowed=guard.still_allowed,
        queue_size=settings.event_queue_size,
    )
    add_routes(app, build_events_router(events_api, guard))
    add_routes(app, build_demo_router(DemoService(cpu_pool=s.cpu_pool), guard))
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
    # Included (its access dependency comes with the inclusion), after the API's routes: requests walk past it.
    app.include_router(
        build_observability_router(MetricsEndpoint(metrics=s.metrics, answered=s.answered)),
        dependencies=[] if settings.metrics_public else [Depends(metrics_access(token=metrics_token))],
    )
    # The WebSocket chat: described in spec/asyncapi.yaml (not an OpenAPI operation; verify_routes skips it).
    app.include_router(
        build_chat_router(
            authenticate=guard.authenticate_token,
            still_allowed=guard.still_allowed,
            bus=s.events,
            options=ChatOptions.from_settings(settings),
            connections=s.chat_connections,
        )
    )
    verify_routes(app, s.document)
    guard_shadowed_paths(app, s.document.operations())
    if settings.docs_enabled:
        asyncapi_file = settings.spec_path.with_name("asyncapi.yaml")
        asyncapi_yaml = asyncapi_file.read_bytes() if asyncapi_file.is_file() else None
        mount_documentation(app, s.document, asyncapi_yaml=asyncapi_yaml)
