"""The app factory: the one place that wires the platform layer, the generated routers and the domain services."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import APIRouter, Depends, FastAPI
from starlette.middleware.cors import CORSMiddleware
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
from impl.auth.guard import AccessGuard
from impl.auth.password_policy import PasswordPolicy
from impl.auth.passwords import PasswordHasher
from impl.auth.service import AuthService
from impl.auth.sessions import AuthSessions
from impl.auth.signing_keys import SigningKeys
from impl.auth.token_blacklist import create_token_blacklist
from impl.auth.tokens import TokenService
from impl.chat.connections import ChatConnections
from impl.chat.options import ChatOptions
from impl.chat.router import build_chat_router
from impl.demo.cpu_pool import CpuPool
from impl.demo.service import DemoService
from impl.files.publishing import FileEvents
from impl.files.service import COLLECTION as FILES_COLLECTION
from impl.files.service import FilesService
from impl.files.storage import FileStorage
from impl.health.service import HealthService
from impl.platform.cache import CacheUnavailableError, create_cache
from impl.platform.circuit_breaker import DependencyBreaker
from impl.platform.cors import cors_options
from impl.platform.counted_cache import CountedCache
from impl.platform.data_dir import data_dir_check, ensure_data_dir
from impl.platform.db.connect import database_check
from impl.platform.db.engine import create_engine, create_sessions, database_breaker
from impl.platform.db.errors import install_database_error_handlers
from impl.platform.db.migrations import apply_or_check
from impl.platform.db.pool_stats import pool_connections
from impl.platform.events import create_event_bus
from impl.platform.idempotency import IdempotencyStore
from impl.platform.metrics import Metrics, multiprocess_dir_from_env
from impl.platform.metrics_endpoint import MetricsEndpoint, metrics_access
from impl.platform.middleware.body_limit import BodyLimitMiddleware
from impl.platform.middleware.deprecation import DeprecationHeadersMiddleware
from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.metrics import RequestMetrics
from impl.platform.middleware.request_timeout import RequestDeadlines
from impl.platform.middleware.security_headers import SecurityHeaders
from impl.platform.mock_mode import announce_mock_mode, remove_mock_data
from impl.platform.openapi_document import (
    DOCS_ASSETS,
    DOCUMENTATION_PATHS,
    OpenApiDocument,
    mount_documentation,
    verify_routes,
)
from impl.platform.problems import install_problem_handlers
from impl.platform.rate_limit import RateLimiter
from impl.platform.rate_limit_policies import policies_from_spec
from impl.platform.readiness import ReadinessProbe
from impl.platform.settings import Settings
from impl.platform.shadowed_paths import guard_shadowed_paths
from impl.platform.shutdown import GracefulShutdown, chain_signal_handlers
from impl.platform.tracing import Tracing, setup_tracing
from impl.streams.hub import StreamHub
from impl.streams.replay import ReplayBuffer
from impl.streams.service import EventsService
from impl.streams.stream import StreamTiming
from impl.users.accounts import UserAccounts
from impl.users.demo_accounts import seed_demo_accounts
from impl.users.service import UsersService

logger = logging.getLogger("charter.app")
# The serving process's threshold for a young collection (CPython's default: 700); see the lifespan.
YOUNG_COLLECTION_THRESHOLD = 10_000
# The HTML pages (and their assets) get the docs' CSP; the raw documents (.json, .yaml) keep the API's.
DOCS_PAGES = (*sorted(path for path in DOCUMENTATION_PATHS if not path.endswith((".json", ".yaml"))), DOCS_ASSETS)


class CharterApp(FastAPI):
    """FastAPI that describes itself with the hand-written document and puts the edge middleware outermost."""

    metrics: Metrics | None = None  # set by create_app; the edge middleware counts every request with it
    deadlines: RequestDeadlines | None = None  # set by create_app; the edge middleware keeps the time budget
    tracing: Tracing | None = None  # set by create_app when TRACING_ENABLED; otherwise no tracing layer at all

    def __init__(
        self, *, document: OpenApiDocument, trusted_proxies: list[str], access_log: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(title=document.title, version=document.version, **kwargs)
        self.document = document
        self.trusted_proxies = trusted_proxies
        self.access_log = access_log

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
            metrics=RequestMetrics(self.metrics) if self.metrics is not None else None,
            access_log=self.access_log,
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
    document = OpenApiDocument.load(settings.spec_path)
    # This app's own registry (never prometheus-client's global one); shared files when workers are several.
    metrics = Metrics(multiprocess_dir=multiprocess_dir_from_env())
    # Engines connect lazily: building one here does no I/O; the lifespan migrates and disposes of it. PostgreSQL
    # connections open through the database's breaker (None for SQLite).
    db_breaker = database_breaker(settings)
    engine = create_engine(settings, breaker=db_breaker)
    # None (nothing installed, no per-request cost) unless TRACING_ENABLED; otherwise this engine's SQL is traced.
    tracing = setup_tracing(settings=settings, engine=engine, service_version=document.version)
    sessions = create_sessions(engine)
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url is not None else None
    # One breaker for Redis, shared by the four stores on it: after a few outages all of them fail fast together.
    redis_breaker = DependencyBreaker(
        name="redis",
        failure_threshold=settings.redis_breaker_failure_threshold,
        recovery_timeout_seconds=settings.redis_breaker_recovery_seconds,
    )
    cache = CountedCache(
        create_cache(redis_url=redis_url, breaker=redis_breaker), on_lookup=lambda hit: metrics.cache_lookup(hit=hit)
    )
    readiness = ReadinessProbe(timeout_seconds=settings.readiness_timeout_seconds)
    readiness.register("data_dir", data_dir_check(settings.data_dir))
    # A real round trip, past the breaker when it is open: readiness sees the database itself, and its success
    # closes the breaker.
    readiness.register("database", database_check(engine))

    keys = (
        SigningKeys.symmetric(secret=settings.secret_key.get_secret_value())
        if settings.jwt_algorithm == "HS256" or settings.jwt_keys_dir is None
        else SigningKeys.from_directory(settings.jwt_keys_dir)
    )
    tokens = TokenService(
        keys=keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl_seconds=settings.access_token_ttl_seconds,
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
    blacklist = create_token_blacklist(redis_url=redis_url, breaker=redis_breaker)
    limiter = RateLimiter(
        policies=policies_from_spec(
            document.content.get("x-rate-limit-policies", {}), override=settings.rate_limit_override
        ),
        redis_url=redis_url,
        enabled=settings.rate_limit_enabled,
        on_rejection=metrics.rate_limit_rejected,
        breaker=redis_breaker,
    )
    # One bus per process; with Redis its listener fans every worker's events out to this worker's subscribers.
    events = create_event_bus(redis_url=redis_url, breaker=redis_breaker)
    breakers = [breaker for breaker in (db_breaker, redis_breaker if redis_url else None) if breaker is not None]
    if breakers:
        # Read at scrape time. By severity, so that with several workers the highest live value is the one shown.
        metrics.levels(
            "circuit_breaker_state",
            "Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open (the highest among live workers).",
            "dependency",
            lambda: {breaker.name: breaker.state_code for breaker in breakers},
            multiprocess_mode="livemax",
        )
    if redis_url is not None:
        readiness.register("rate_limit_store", limiter.ping)
        readiness.register("token_blacklist", blacklist.ping)
        readiness.register("event_bus", events.ping)
    guard = AccessGuard(tokens=tokens, blacklist=blacklist, limiter=limiter, on_failure=metrics.auth_failed)

    idempotency = IdempotencyStore(sessions=sessions)
    hasher = PasswordHasher(
        time_cost=settings.password_hash_iterations,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
        concurrency=settings.password_hash_concurrency,
    )
    accounts = UserAccounts(sessions=sessions, invalidate=lambda user_id: users.forget(user_id), events=events)
    auth = AuthService(
        accounts=accounts,
        sessions=AuthSessions(sessions=sessions, ttl_seconds=settings.refresh_token_ttl_seconds),
        tokens=tokens,
        keys=keys,
        blacklist=blacklist,
        hasher=hasher,
        policy=PasswordPolicy.default(),
    )
    users = UsersService(
        sessions=sessions,
        idempotency=idempotency,
        cache=cache,
        cache_ttl=settings.cache_ttl_seconds,
        passwords=auth,
        events=events,
    )

    # SSE: one replay buffer per process (Last-Event-ID), and the open streams, ended at shutdown.
    stream_hub = StreamHub(replay=ReplayBuffer(bus=events, size=settings.sse_replay_size))

    files = FilesService(
        sessions=sessions,
        storage=FileStorage(settings.data_dir / "files"),
        events=FileEvents(bus=events),
        max_upload_bytes=settings.max_upload_bytes,
    )

    # Its worker processes start with the first CPU job, so an app that never runs one never pays for them.
    cpu_pool = CpuPool(workers=settings.cpu_pool_workers)

    # Long-lived connections end first at shutdown: SSE streams, then chat sockets with 1001 (going away).
    shutdown = GracefulShutdown()
    readiness.register("accepting_requests", shutdown.accepting)  # /readyz 503 while draining
    shutdown.on_shutdown(stream_hub.end_streams)
    chat_connections = ChatConnections()
    shutdown.on_shutdown(chat_connections.close_all)

    # Levels read when /metrics is scraped (see impl/platform/metrics.py): nothing per request.
    metrics.levels(
        "db_pool_connections", "Database pool connections, by state.", "state", lambda: pool_connections(engine)
    )
    metrics.level("chat_connections", "Open WebSocket chat connections.", lambda: len(chat_connections))
    metrics.level("sse_streams_open", "Open Server-Sent Events streams.", lambda: stream_hub.open_streams)
    metrics.level("event_bus_subscriptions", "Open event-bus subscriptions.", lambda: events.stats().subscriptions)
    metrics.level("event_bus_queued_events", "Events waiting in subscribers' queues.", lambda: events.stats().queued)
    metrics.running_total(
        "event_bus_dropped_events_total",
        "Events dropped because a subscriber's queue was full.",
        lambda: events.stats().dropped,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        announce_mock_mode(settings)
        ensure_data_dir(settings.data_dir)
        await events.start()
        await metrics.start()
        await stream_hub.start()
        await apply_or_check(engine, database_url=settings.effective_database_url(), mode=settings.db_migrations)
        await files.sweep_interrupted_uploads()
        # The dummy hash unknown accounts are checked against is made now, so the first one costs no more than later.
        await hasher.verify(password_hash=None, password="warm-up")  # noqa: S106  # nosec B106 - not a credential
        if settings.admin_email and settings.admin_password is not None:
            try:
                app.state.admin_created = await auth.bootstrap_admin(
                    email=settings.admin_email, password=settings.admin_password.get_secret_value()
                )
            except CacheUnavailableError:
                # The admin is committed; only dropping its cached read failed. A Redis that is down must not keep
                # the service from starting: /readyz reports it, and everything recovers when it is back.
                app.state.admin_created = True
                logger.warning("the first admin was created, but the cache could not be told (Redis unreachable)")
        if settings.app_env == "mock":
            await seed_demo_accounts(accounts=accounts, passwords=auth)
        # SIGTERM ends SSE streams and closes chat sockets (1001) before uvicorn waits for open connections.
        shutdown.start()
        chat_connections.reopen()
        restore_signal_handlers = chain_signal_handlers(shutdown, asyncio.get_running_loop())
        if tune_collector:
            # What start-up made (modules, the spec, the models, the app) lives as long as the process. Frozen, the
            # collector stops re-examining those ~150k objects in every full collection: under load those ran
            # every few seconds and took ~100 ms each (the service's p99; issue 7), now ~1 ms. Not in a process
            # that makes many apps (the tests): frozen objects are never collected.
            gc.collect()
            gc.freeze()
            # A young collection runs whenever 700 more objects have been made than freed. A loaded worker holds
            # a thousand or more for the requests in flight, made and freed again within an iteration of the
            # loop, so it ran ~100 young collections a second that found nothing to collect (DEBUG_SAVEALL saw
            # no garbage): 1.6% of its time under `make bench`. At 10,000 they stop; cyclic garbage, which the
            # service's requests do not make, would wait for ~10k allocations more.
            gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            restore_signal_handlers()
            await shutdown.begin()  # a no-op after SIGTERM; otherwise (a server in a thread, a test client) now
            await stream_hub.close()
            await cpu_pool.close()
            await events.close()
            await limiter.close()
            await blacklist.close()
            await cache.close()
            await engine.dispose()
            await remove_mock_data(settings)  # a no-op unless APP_ENV=mock
            await metrics.close()
            if tracing is not None:
                await tracing.shutdown()  # last: exports the spans of everything above

    app = CharterApp(
        document=document,
        trusted_proxies=settings.trusted_proxies,
        access_log=settings.access_log,
        debug=False,  # never render tracebacks, whatever the environment
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.events = events
    app.state.streams = stream_hub
    app.state.metrics = metrics
    app.metrics = metrics
    app.state.tracing = tracing
    app.tracing = tracing
    app.state.shutdown = shutdown
    install_problem_handlers(app, header_parameters=HEADER_PARAMETERS)
    install_database_error_handlers(app)
    # Uploads stream far more than a JSON body may; the files service counts the file itself while it streams.
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        limits_by_path={FILES_COLLECTION: files.max_request_bytes},
    )
    # The edge keeps the time budget; its 504 goes out through the same deprecation and CORS layers as every other
    # answer (a browser needs the CORS headers to read it).
    deadlines = RequestDeadlines(timeout_seconds=settings.request_timeout_seconds)
    if DEPRECATIONS:
        # Only when the spec deprecates an operation: otherwise no layer at all (see generated/api/deprecations.py).
        app.add_middleware(DeprecationHeadersMiddleware, deprecations=DEPRECATIONS)
        deadlines.answer = DeprecationHeadersMiddleware(deadlines.answer, deprecations=DEPRECATIONS)
    cors = cors_options(app_env=settings.app_env, allow_origins=settings.cors_allow_origins)
    if cors is not None:
        app.add_middleware(CORSMiddleware, **cors)
        deadlines.answer = CORSMiddleware(deadlines.answer, **cors)
    app.deadlines = deadlines

    health = HealthService(version=document.version, readiness=readiness, draining=lambda: shutdown.draining)
    # Routes are tried in order, each a regular expression, so the most requested come first: the probes, then the
    # user reads (a sign-in or a token refresh costs an Argon2 hash or a database write; nine more route tests
    # are nothing to it, while they were a twentieth of a cached user read). No two tags' paths overlap, so the
    # order of the tags decides nothing else.
    add_routes(app, build_health_router(health, guard))
    add_routes(app, build_users_router(users, guard))
    add_routes(app, build_auth_router(auth, guard))
    add_routes(app, build_files_router(files, guard))
    events_api = EventsService(
        bus=events,
        hub=stream_hub,
        timing=StreamTiming(tick_seconds=settings.sse_tick_seconds, heartbeat_seconds=settings.sse_heartbeat_seconds),
        queue_size=settings.event_queue_size,
    )
    add_routes(app, build_events_router(events_api, guard))
    add_routes(app, build_demo_router(DemoService(cpu_pool=cpu_pool), guard))
    metrics_token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
    # Included (its access dependency comes with the inclusion), after the API's routes: requests walk past it.
    app.include_router(
        build_observability_router(MetricsEndpoint(metrics=metrics)),
        dependencies=[] if settings.metrics_public else [Depends(metrics_access(token=metrics_token))],
    )

    # The WebSocket chat: described in spec/asyncapi.yaml (not an OpenAPI operation; verify_routes skips it).
    app.state.chat_connections = chat_connections
    app.include_router(
        build_chat_router(
            authenticate=guard.authenticate_token,
            bus=events,
            options=ChatOptions.from_settings(settings),
            connections=chat_connections,
        )
    )

    verify_routes(app, document)
    guard_shadowed_paths(app, document.operations())
    if settings.docs_enabled:
        asyncapi_file = settings.spec_path.with_name("asyncapi.yaml")
        asyncapi_yaml = asyncapi_file.read_bytes() if asyncapi_file.is_file() else None
        mount_documentation(app, document, asyncapi_yaml=asyncapi_yaml)
    return app
