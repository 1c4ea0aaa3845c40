"""Every response carries X-Request-ID: the client's when well-formed, a fresh one otherwise."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.platform.middleware.request_id import fresh_request_id


def test_a_well_formed_client_id_is_echoed(client: TestClient) -> None:
    response = client.get("/health", headers={"X-Request-ID": "req-42.a:b_c"})
    assert response.headers["x-request-id"] == "req-42.a:b_c"


@pytest.mark.parametrize(
    "bad_id",
    ["", "x" * 129, "has space", "tab\\there", "<script>", "ünïcode"],
)
def test_a_malformed_client_id_is_replaced_by_a_generated_one(client: TestClient, bad_id: str) -> None:
    response = client.get("/health", headers={b"X-Request-ID": bad_id.encode("utf-8")})
    generated = response.headers["x-request-id"]
    assert generated != bad_id
    assert uuid.UUID(generated)


def test_without_a_client_id_each_request_gets_its_own(client: TestClient) -> None:
    first = client.get("/health").headers["x-request-id"]
    second = client.get("/health").headers["x-request-id"]
    assert first != second
    assert uuid.UUID(first)
    assert uuid.UUID(second)


def test_errors_carry_the_id_too(client: TestClient) -> None:
    assert client.get("/no-such-path", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert client.post("/health", headers={"X-Request-ID": "def"}).headers["x-request-id"] == "def"


def test_the_500_answer_carries_the_id(app: FastAPI) -> None:
    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("secret internals")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom", headers={"X-Request-ID": "trace-me"})

    assert response.status_code == 500
    assert response.headers["x-request-id"] == "trace-me"


def test_a_fresh_id_is_a_canonical_version_4_uuid() -> None:
    ids = [fresh_request_id() for _ in range(2000)]
    parsed = [uuid.UUID(text) for text in ids]
    assert all(str(value) == text for value, text in zip(parsed, ids, strict=True))  # canonical: lower-case, dashed
    assert {value.version for value in parsed} == {4}
    assert {value.variant for value in parsed} == {uuid.RFC_4122}
    assert len(set(ids)) == len(ids)
    # Every variant digit occurs (8, 9, a, b): the random bits under the fixed ones are used.
    assert {text[19] for text in ids} == set("89ab")
