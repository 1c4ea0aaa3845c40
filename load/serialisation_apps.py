"""Three FastAPI apps answering GET /health with the same JSON, serialised three ways, for bench_serialisation."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel


class Health(BaseModel):
    status: str
    version: str


def untyped() -> FastAPI:
    """A dict without annotation: FastAPI runs jsonable_encoder, then json.dumps."""
    app = FastAPI()

    @app.get("/health")
    async def health():  # type: ignore[no-untyped-def]  # the untyped path is what is measured
        return {"status": "ok", "version": "0.1.0"}

    return app


def typed() -> FastAPI:
    """A typed return / response_model (what generated routers use): Pydantic serialises straight to bytes."""
    app = FastAPI()
    body = Health(status="ok", version="0.1.0")

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return body

    return app


def json_response() -> FastAPI:
    """An explicit JSONResponse of a dict: no validation, stdlib json."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok", "version": "0.1.0"})

    return app
