"""load/baseline_app.py: the reference apps send the service's exact /health bytes, so ratios compare like with like."""

from __future__ import annotations

from fastapi.testclient import TestClient

from load.baseline_app import fastapi_app, raw_asgi_app


def test_the_baseline_and_the_ceiling_answer_health_with_the_service_bytes(client: TestClient) -> None:
    service = client.get("/health")
    assert service.status_code == 200
    for app in (fastapi_app(), raw_asgi_app()):
        with TestClient(app) as reference:  # type: ignore[arg-type]  # the raw app is a plain ASGI callable
            answer = reference.get("/health")
        assert answer.status_code == 200
        assert answer.content == service.content
        assert answer.headers["content-type"] == "application/json"


def test_the_ceiling_knows_only_health() -> None:
    with TestClient(raw_asgi_app()) as reference:  # type: ignore[arg-type]
        assert reference.get("/elsewhere").status_code == 404
