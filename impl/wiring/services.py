"""Every service and store of one app, wired to each other: the first step of the app factory (impl/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from impl.auth.account_states import AccountStates
from impl.auth.guard import AccessGuard
from impl.auth.new_passwords import NewPasswordRules
from impl.auth.password_policy import PasswordPolicy
from impl.auth.passwords import PasswordHasher
from impl.auth.service import AuthService
from impl.auth.sessions import AuthSessions
from impl.auth.signing_keys import SigningKeys
from impl.auth.token_blacklist import TokenBlacklist, create_token_blacklist
from impl.auth.tokens import TokenService
from impl.chat.connections import ChatConnections
from impl.demo.cpu_pool import CpuPool
from impl.files.publishing import FileEvents
from impl.files.service import FilesService
from impl.files.storage import FileStorage
from impl.platform.cache import create_cache
from impl.platform.circuit_breaker import DependencyBreaker
from impl.platform.counted_cache import CountedCache
from impl.platform.data_dir import data_dir_check
from impl.platform.db.connect import database_check
from impl.platform.db.engine import create_engine, create_sessions, database_breaker
from impl.platform.db.pool_stats import pool_connections
from impl.platform.events import EventBus, create_event_bus
from impl.platform.idempotency import IdempotencyStore
from impl.platform.metrics import Metrics, multiprocess_dir_from_env
from impl.platform.middleware.access_log import AccessLog
from impl.platform.middleware.answered import AnsweredRequests
from impl.platform.middleware.metrics import RequestMetrics
from impl.platform.openapi_document import (
    OpenApiDocument,
)
from impl.platform.rate_limit import RateLimiter
from impl.platform.rate_limit_policies import policies_from_spec
from impl.platform.readiness import ReadinessProbe
from impl.platform.settings import Settings
from impl.platform.shutdown import GracefulShutdown
from impl.platform.tracing import Tracing, setup_tracing
from impl.streams.hub import StreamHub
from impl.streams.replay import ReplayBuffer
from impl.users.accounts import UserAccounts
from impl.users.reads import UserReads
from impl.users.service import UsersService


@dataclass(frozen=True, kw_only=True)
class Services:
    """What the app is made of, built once per app by :func:`build_services` (no I/O: connections open lazily)."""

    document: OpenApiDocument
    metrics: Metrics
    answered: AnsweredRequests
    engine: AsyncEngine
    tracing: Tracing | None
    readiness: ReadinessProbe
    cache: CountedCache
    blacklist: TokenBlacklist
    limiter: RateLimiter
    events: EventBus
    account_states: AccountStates
    guard: AccessGuard
    hasher: PasswordHasher
    new_passwords: NewPasswordRules
    accounts: UserAccounts
    auth: AuthService
    users: UsersService
    stream_hub: StreamHub
    files: FilesService
    cpu_pool: CpuPool
    shutdown: GracefulShutdown
    chat_connections: ChatConnections


def build_services(settings: Settings) -> Services:
    """Every service and store of the app, wired to each other."""
    document = OpenApiDocument.load(settings.spec_path)
    # This app's own registry (never prometheus-client's global one); shared files when workers are several.
    metrics = Metrics(multiprocess_dir=multiprocess_dir_from_env())
    # The way out of each answered request: the edge records it, then the counters and the access line are made.
    answered = AnsweredRequests(
        metrics=RequestMetrics(metrics), access_log=AccessLog() if settings.access_log else None
    )
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
        # Shared by every replica: reported on /health/detailed, not failing /readyz (see ReadinessProbe).
        readiness.register("rate_limit_store", limiter.ping, shared=True)
        readiness.register("token_blacklist", blacklist.ping, shared=True)
        readiness.register("event_bus", events.ping, shared=True)
    # Sign-in's side of the users: its writes drop the user's cached read through ``reads``.
    reads = UserReads(sessions=sessions, cache=cache, ttl=settings.cache_ttl_seconds)
    accounts = UserAccounts(sessions=sessions, invalidate=reads.forget, events=events)
    # Accounts' current role and active flag, per worker, for the guard (see impl/auth/account_states.py).
    account_states = AccountStates(read=accounts.find, bus=events, ttl_seconds=settings.account_state_ttl_seconds)
    guard = AccessGuard(
        tokens=tokens,
        blacklist=blacklist,
        states=account_states,
        limiter=limiter,
        on_failure=metrics.auth_failed,
        # The admins' health page answers (degraded) during a Redis outage, when it is needed.
        diagnostics=frozenset({"getHealthDetailed"}),
    )

    hasher = PasswordHasher(
        time_cost=settings.password_hash_iterations,
        memory_cost=settings.password_hash_memory_kib,
        parallelism=settings.password_hash_parallelism,
        concurrency=settings.password_hash_concurrency,
    )
    policy = PasswordPolicy.default()
    # Passwords set for others (an admin creating a user, the demo accounts): the rules and the hash, no more.
    new_passwords = NewPasswordRules(policy=policy, hasher=hasher)
    auth = AuthService(
        accounts=accounts,
        sessions=AuthSessions(sessions=sessions, ttl_seconds=settings.refresh_token_ttl_seconds),
        tokens=tokens,
        keys=keys,
        blacklist=blacklist,
        hasher=hasher,
        policy=policy,
        states=account_states,
        limiter=limiter,
    )
    files = FilesService(
        sessions=sessions,
        storage=FileStorage(settings.data_dir / "files"),
        events=FileEvents(bus=events),
        max_upload_bytes=settings.max_upload_bytes,
    )
    users = UsersService(
        sessions=sessions,
        idempotency=IdempotencyStore(sessions=sessions),
        reads=reads,
        passwords=new_passwords,
        events=events,
        access=auth,  # a change of role or active flag, or a deletion, ends the account's sessions
        files=files,  # a deleted user's files go with them
    )

    # SSE: one replay buffer per process (Last-Event-ID), and the open streams, ended at shutdown.
    stream_hub = StreamHub(replay=ReplayBuffer(bus=events, size=settings.sse_replay_size))

    # Long-lived connections end first at shutdown: SSE streams, then chat sockets with 1001 (going away).
    shutdown = GracefulShutdown()
    readiness.register("accepting_requests", shutdown.accepting)  # /readyz 503 while draining
    shutdown.on_shutdown(stream_hub.end_streams)
    chat_connections = ChatConnections()
    shutdown.on_shutdown(chat_connections.close_all)
    return Services(
        document=document,
        metrics=metrics,
        answered=answered,
        engine=engine,
        tracing=tracing,
        readiness=readiness,
        cache=cache,
        blacklist=blacklist,
        limiter=limiter,
        events=events,
        account_states=account_states,
        guard=guard,
        hasher=hasher,
        new_passwords=new_passwords,
        accounts=accounts,
        auth=auth,
        users=users,
        stream_hub=stream_hub,
        files=files,
        # Its worker processes start with the first CPU job, so an app that never runs one never pays for them.
        cpu_pool=CpuPool(workers=settings.cpu_pool_workers),
        shutdown=shutdown,
        chat_connections=chat_connections,
    )


def sample_levels(services: Services) -> None:
    """Levels read when /metrics is scraped (see impl/platform/metrics.py): nothing per request."""
    metrics, events, engine = services.metrics, services.events, services.engine
    metrics.levels(
        "db_pool_connections", "Database pool connections, by state.", "state", lambda: pool_connections(engine)
    )
    metrics.level("chat_connections", "Open WebSocket chat connections.", lambda: len(services.chat_connections))
    metrics.level("sse_streams_open", "Open Server-Sent Events streams.", lambda: services.stream_hub.open_streams)
    metrics.level("event_bus_subscriptions", "Open event-bus subscriptions.", lambda: events.stats().subscriptions)
    metrics.level("event_bus_queued_events", "Events waiting in subscribers' queues.", lambda: events.stats().queued)
    metrics.running_total(
        "event_bus_dropped_events_total",
        "Events dropped because a subscriber's queue was full.",
        lambda: events.stats().dropped,
    )
