"""The app's lifespan: start-up (migrations, the first admin, signal handlers) and shutdown (drain, then close)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from impl.platform.cache import CacheUnavailableError
from impl.platform.data_dir import ensure_data_dir
from impl.platform.db.migrations import apply_or_check
from impl.platform.mock_mode import announce_mock_mode, remove_mock_data
from impl.platform.settings import Settings
from impl.platform.shutdown import chain_signal_handlers
from impl.users.demo_accounts import seed_demo_accounts
from impl.wiring.services import Services

logger = logging.getLogger("charter.app")
# The serving process's threshold for a young collection (CPython's default: 700); see tune_garbage_collector.
YOUNG_COLLECTION_THRESHOLD = 10_000

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def lifespan_of(settings: Settings, services: Services, *, tune_collector: bool) -> Lifespan:
    """Start-up (migrations, the first admin, signal handlers) and shutdown (drain, then close every store)."""
    s = services

    async def start_up(app: FastAPI) -> None:
        announce_mock_mode(settings)
        ensure_data_dir(settings.data_dir)
        await s.events.start()
        await s.account_states.start()
        await s.metrics.start()
        await s.stream_hub.start()
        await apply_or_check(s.engine, database_url=settings.effective_database_url(), mode=settings.db_migrations)
        await s.files.sweep_interrupted_uploads()
        # The dummy hash unknown accounts are checked against is made now, so the first one costs no more than later.
        await s.hasher.verify(password_hash=None, password="warm-up")  # noqa: S106  # nosec B106 - not a credential
        if settings.admin_email and settings.admin_password is not None:
            try:
                app.state.admin_created = await s.auth.bootstrap_admin(
                    email=settings.admin_email, password=settings.admin_password.get_secret_value()
                )
            except CacheUnavailableError:
                # The admin is committed; only dropping its cached read failed. A Redis that is down must not keep
                # the service from starting: /readyz reports it, and everything recovers when it is back.
                app.state.admin_created = True
                logger.warning("the first admin was created, but the cache could not be told (Redis unreachable)")
        if settings.app_env == "mock":
            await seed_demo_accounts(accounts=s.accounts, passwords=s.new_passwords)

    async def close() -> None:
        await s.shutdown.begin()  # a no-op after SIGTERM; otherwise (a server in a thread, a test client) now
        await s.stream_hub.close()
        await s.cpu_pool.close()
        await s.account_states.close()
        await s.events.close()
        await s.limiter.close()
        await s.blacklist.close()
        await s.cache.close()
        await s.engine.dispose()
        await remove_mock_data(settings)  # a no-op unless APP_ENV=mock
        s.answered.flush()  # the last answers' counts and access lines
        await s.metrics.close()
        if s.tracing is not None:
            await s.tracing.shutdown()  # last: exports the spans of everything above

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        restore_signal_handlers: Callable[[], None] | None = None
        # A start-up that fails (a refused admin password, a database behind its migrations) still closes what it
        # opened: the server exits, but a process that made the app (a test, a tool) keeps running.
        try:
            await start_up(app)
            # SIGTERM ends SSE streams and closes chat sockets (1001) before uvicorn waits for open connections.
            s.shutdown.start()
            s.chat_connections.reopen()
            restore_signal_handlers = chain_signal_handlers(s.shutdown, asyncio.get_running_loop())
            if tune_collector:
                tune_garbage_collector()
            yield
        finally:
            if restore_signal_handlers is not None:
                restore_signal_handlers()
            await close()

    return lifespan


def tune_garbage_collector() -> None:
    """Only in the process that serves the app (never in one that makes many apps: the tests)."""
    # What start-up made (modules, the spec, the models, the app) lives as long as the process. Frozen, the
    # collector stops re-examining those ~150k objects in every full collection: under load those ran every few
    # seconds and took ~100 ms each (the service's p99), now ~1 ms. Frozen objects are never collected.
    gc.collect()
    gc.freeze()
    # A young collection runs whenever 700 more objects have been made than freed. A loaded worker holds a thousand
    # or more for the requests in flight, made and freed again within an iteration of the loop, so it ran ~100
    # young collections a second that found nothing to collect (DEBUG_SAVEALL saw no garbage): 1.6% of its time
    # under `make bench`. At 10,000 they stop; cyclic garbage, which the service's requests do not make, would
    # wait for ~10k allocations more.
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
