"""The probes: /health and /livez answer from the process alone; /readyz checks what this instance needs of its
own, /health/detailed every dependency, the shared Redis stores included."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import Settings
from impl.platform.shutdown import GracefulShutdown
from scripts.live_service import free_port
from tests.conftest import bearer, sign_in, test_settings
from tests.throwaway_redis import throwaway_redis


def test_health_reports_status_and_the_spec_version(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "version": "0.2.0"}


def test_liveness_is_alive(client: TestClient) -> None:
    response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


def test_readiness_lists_every_check_when_all_are_up(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert [check["name"] for check in body["checks"]] == ["data_dir", "database", "accepting_requests"]
    assert all(check["status"] == "up" for check in body["checks"])
    assert body["checks"][0]["latency_ms"] >= 0


def test_readiness_is_503_while_the_service_drains_and_liveness_stays_200(client: TestClient, app: FastAPI) -> None:
    admin = bearer(sign_in(client))
    shutdown: GracefulShutdown = app.state.shutdown
    assert client.portal is not None
    client.portal.call(shutdown.begin)  # what SIGTERM begins

    ready, alive = client.get("/readyz"), client.get("/livez")
    detailed = client.get("/health/detailed", headers=admin).json()

    assert detailed["draining"] is True
    assert detailed["status"] == "degraded"
    assert ready.status_code == 503
    assert ready.json()["detail"] == "Not ready: accepting_requests is down."
    assert alive.status_code == 200


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    for path in ("/health", "/livez", "/readyz"):
        response = client.head(path)
        assert response.status_code == 200, path
        assert response.content == b"", path
        assert "x-request-id" in response.headers, path
        # RFC 9110 §8.6 and §9.3.2: the length GET's body would have, never another one.
        get = client.get(path)
        assert get.headers["content-length"] == str(len(get.content)), path
        if path == "/readyz":
            # Its body holds each check's latency, measured anew per request: a digit or so either way.
            assert abs(int(response.headers["content-length"]) - len(get.content)) <= 8, path
        else:
            assert response.headers["content-length"] == get.headers["content-length"], path


def test_readiness_is_503_problem_with_the_failing_check_when_the_data_dir_is_gone(
    client: TestClient, settings: Settings
) -> None:
    assert client.get("/readyz").status_code == 200
    # Replace the data directory by a plain file: nothing can be written under it any more.
    shutil.rmtree(settings.data_dir)
    settings.data_dir.write_text("not a directory")

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    problem = response.json()
    assert problem["status"] == 503
    assert problem["title"] == "Service Unavailable"
    assert problem["detail"] == "Not ready: data_dir is down."
    assert problem["instance"] == "/readyz"
    checks = {check["name"]: check for check in problem["checks"]}
    assert set(checks) == {"data_dir", "database", "accepting_requests"}
    check = checks["data_dir"]
    assert check["status"] == "down"
    assert check["detail"]  # says why, e.g. NotADirectoryError


def test_head_readiness_is_503_too_when_not_ready(client: TestClient, settings: Settings) -> None:
    shutil.rmtree(settings.data_dir)
    settings.data_dir.write_text("not a directory")

    response = client.head("/readyz")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_liveness_and_health_stay_200_when_readiness_fails(client: TestClient, settings: Settings) -> None:
    shutil.rmtree(settings.data_dir)
    settings.data_dir.write_text("not a directory")

    assert client.get("/readyz").status_code == 503
    assert client.get("/livez").status_code == 200
    assert client.get("/health").status_code == 200


def test_readiness_leaves_the_shared_redis_stores_to_the_detailed_health(tmp_path: Path) -> None:
    # Redis is shared by every replica: its outage must not take them all out of the load balancer at once.
    nobody_listens = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(test_settings(tmp_path / "down", redis_url=nobody_listens))
    with TestClient(app, raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        admin = bearer(sign_in(client))
        detailed = client.get("/health/detailed", headers=admin)

    assert ready.status_code == 200, ready.text
    assert [check["name"] for check in ready.json()["checks"]] == ["data_dir", "database", "accepting_requests"]
    assert detailed.status_code == 200
    assert detailed.json()["status"] == "degraded"
    failing = {check["name"] for check in detailed.json()["checks"] if check["status"] == "down"}
    assert failing == {"token_blacklist", "event_bus"}  # rate limits are off here (sign-in would need them)


def test_detailed_health_is_for_admins_and_lists_every_check_with_its_latency(client: TestClient) -> None:
    admin = bearer(sign_in(client))

    response = client.get("/health/detailed", headers=admin)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["draining"] is False
    assert body["uptime_seconds"] >= 0
    assert body["started_at"].endswith("Z")
    assert {check["name"] for check in body["checks"]} == {"data_dir", "database", "accepting_requests"}
    assert all(check["status"] == "up" and check["latency_ms"] >= 0 for check in body["checks"])
    assert client.get("/health/detailed").status_code == 401


def test_detailed_health_answers_200_degraded_with_the_reason_when_a_dependency_is_down(
    client: TestClient, settings: Settings
) -> None:
    admin = bearer(sign_in(client))
    shutil.rmtree(settings.data_dir)
    settings.data_dir.write_text("not a directory")

    response = client.get("/health/detailed", headers=admin)

    assert response.status_code == 200  # a page for people: degraded, not an error
    body = response.json()
    assert body["status"] == "degraded"
    down = {check["name"]: check for check in body["checks"] if check["status"] == "down"}
    assert set(down) == {"data_dir"}
    assert down["data_dir"]["detail"]


def test_an_app_served_again_after_a_shutdown_is_ready_again(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))
    for _ in range(2):  # each lifespan ends with the graceful shutdown; the next one starts ready
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200


def test_the_detailed_health_answers_degraded_while_redis_is_down_and_other_operations_fail_closed(
    tmp_path: Path,
) -> None:
    with throwaway_redis() as redis:
        app = create_app(test_settings(tmp_path / "data", redis_url=redis.url))
        with TestClient(app) as client:
            token = sign_in(client)
            up = client.get("/health/detailed", headers=bearer(token))
            assert (up.status_code, up.json()["status"]) == (200, "ok")

            redis.kill()
            during = client.get("/health/detailed", headers=bearer(token))
            # This instance is as ready as any other: readiness does not follow a shared dependency.
            assert client.get("/readyz").status_code == 200
            assert during.status_code == 200, during.text
            assert during.json()["status"] == "degraded"
            down = {check["name"] for check in during.json()["checks"] if check["status"] != "up"}
            assert "token_blacklist" in down
            # Everything else still refuses a token it cannot check against the revocations.
            assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 503

            redis.restart()
            after = client.get("/health/detailed", headers=bearer(token))
            assert after.status_code == 200
