"""The benchmark's reference points, each answering GET /health with the service's exact JSON.

* ``fastapi_app``: a bare FastAPI app, one route, no middleware: the baseline the service's ratios are taken to.
* ``raw_asgi_app``: a bare ASGI callable: the ceiling of this server, loop and machine.

The body is the service's own (``generated.models.Health`` with the spec's version), so every app sends the same
bytes. Both are app factories for ``uvicorn --factory``.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from generated.models import Health

SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"


def health_body() -> Health:
    """The service's /health answer: status ok and the spec's version."""
    version = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["info"]["version"]
    return Health(status="ok", version=str(version))


def fastapi_app() -> FastAPI:
    """One typed route, as the generated routers declare theirs: Pydantic serialises the model straight to bytes."""
    app = FastAPI()
    body = health_body()

    @app.get("/health", response_model=Health)
    async def health() -> Health:
        return body

    return app


def raw_asgi_app() -> object:
    """The same bytes from a plain ASGI callable: no routing, no validation, no framework."""
    body = health_body().model_dump_json().encode()
    ok_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        found = scope["type"] == "http" and scope["path"] == "/health"
        await send(
            {
                "type": "http.response.start",
                "status": 200 if found else 404,
                "headers": ok_headers if found else [(b"content-length", b"0")],
            }
        )
        await send({"type": "http.response.body", "body": body if found else b""})

    return app
