"""API4:2023 Unrestricted Resource Consumption — every size a client controls has a bound, checked before work.

Page sizes are capped, bodies over MAX_BODY_BYTES are refused with 413, and an oversized password is refused by
validation (422) before Argon2 would spend time and memory on it.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from impl.platform.settings import Settings
from tests.conftest import bearer
from tests.owasp.conftest import AUTH, USERS, unique_email


def test_a_page_of_a_million_is_refused(api: TestClient, admin_token: str) -> None:
    response = api.get(USERS, params={"limit": 1_000_000}, headers=bearer(admin_token))

    assert response.status_code == 422
    assert any(error.get("parameter") == "limit" for error in response.json()["errors"])


def test_a_body_over_the_limit_is_413(api: TestClient) -> None:
    limit = Settings(app_env="test").max_body_bytes
    oversized = b'{"email": "' + b"a" * limit + b'@example.com"}'

    response = api.post(f"{AUTH}/register", content=oversized, headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_a_body_over_the_limit_is_413_even_without_a_declared_length(api: TestClient) -> None:
    limit = Settings(app_env="test").max_body_bytes

    def chunks() -> object:
        for _ in range(limit // 65_536 + 2):
            yield b"a" * 65_536

    response = api.post(f"{AUTH}/login", content=chunks(), headers={"Content-Type": "application/json"})  # type: ignore[arg-type]

    assert response.status_code == 413


def test_a_300_character_password_is_refused_by_validation(api: TestClient) -> None:
    huge = "correct horse " * 22  # 308 characters: over the 256 the spec allows

    registered = api.post(f"{AUTH}/register", json={"email": unique_email(), "name": "Olive", "password": huge})
    signed_in = api.post(f"{AUTH}/login", json={"email": unique_email(), "password": huge})

    # 422 with the pointer is the validation layer's answer: the password never reached the hasher.
    for response in (registered, signed_in):
        assert response.status_code == 422, response.text
        assert "#/password" in [error.get("pointer") for error in response.json()["errors"]]
