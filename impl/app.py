"""The app factory: the one place that wires the platform layer, the generated routers and the domain services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text
from starlette.types import ASGIApp

from generated.api import build_health_router, build_users_router
from impl.health.service import HealthService
from impl.platform.cache import create_cache
from impl.platform.data_dir import data_dir_check, ensure_data_dir
from impl.platform.db.engine import create_engine, create_sessions
from impl.platform.db.errors import install_database_error_handlers
from impl.platform.db.migrations import apply_or_check
from impl.platform.idempotency import IdempotencyStore
from impl.platform.middleware.body_limit import BodyLimitMiddleware
from impl.platform.middleware.request_id import RequestIdMiddleware
from impl.platform.openapi_document import OpenApiDocument, mount_documentation, verify_routes
from impl.platform.problems import install_problem_handlers
from impl.platform.readiness import ReadinessProbe
from impl.platform.settings import Settings
from impl.users.service import UsersService


class CharterApp(FastAPI):
    """FastAPI that describes itself with the hand-written document and puts the request-ID middleware outermost."""

    def __init__(self, *, document: OpenApiDocument, **kwargs: Any) -> None:
        super().__init__(title=document.title, version=document.version, **kwargs)
        self.document = document

    def openapi(self) -> dict[str, Any]:
        # Never FastAPI's code-derived schema: whoever asks the app (tools, tests) gets the contract itself.
        return self.document.content

    def build_middleware_stack(self) -> ASGIApp:
        # ``add_middleware`` would place it inside Starlette's ServerErrorMiddleware, and the 500 answer would then
        # leave without the request's ID.
        return RequestIdMiddleware(super().build_middleware_stack())


def create_app(settings: Settings) -> FastAPI:
    document = OpenApiDocument.load(settings.spec_path)
    # Engines connect lazily: building one here does no I/O; the lifespan migrates and disposes of it.
    engine = create_engine(settings)
    sessions = create_sessions(engine)
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url is not None else None
    cache = create_cache(redis_url=redis_url)
    readiness = ReadinessProbe(timeout_seconds=settings.readiness_timeout_seconds)
    readiness.register("data_dir", data_dir_check(settings.data_dir))

    async def database_check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    readiness.register("database", database_check)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_data_dir(settings.data_dir)
        await apply_or_check(engine, database_url=settings.effective_database_url(), mode=settings.db_migrations)
        try:
            yield
        finally:
            await cache.close()
            await engine.dispose()

    app = CharterApp(
        document=document,
        debug=False,  # never render tracebacks, whatever the environment
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_problem_handlers(app)
    install_database_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)

    app.include_router(build_health_router(HealthService(version=document.version, readiness=readiness)))
    idempotency = IdempotencyStore(sessions=sessions)
    users = UsersService(sessions=sessions, idempotency=idempotency, cache=cache, cache_ttl=settings.cache_ttl_seconds)
    app.include_router(build_users_router(users))

    verify_routes(app, document)
    if settings.docs_enabled:
        mount_documentation(app, document)
    return app
