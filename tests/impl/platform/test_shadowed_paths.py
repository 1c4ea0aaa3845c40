"""A literal path is not its templated sibling: `/users/export` answers 405 for what only `/users/{id}` has."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from impl.platform.openapi_document import OperationKey
from impl.platform.shadowed_paths import shadowed_methods
from tests.conftest import bearer, sign_in


def _keys(*pairs: tuple[str, str]) -> set[OperationKey]:
    return {OperationKey(method, path, f"{method}{path}") for method, path in pairs}


def test_only_literal_paths_that_a_template_matches_are_guarded() -> None:
    operations = _keys(
        ("GET", "/users"),
        ("GET", "/users/export"),
        ("GET", "/users/{id}"),
        ("PUT", "/users/{id}"),
        ("DELETE", "/users/{id}"),
        ("GET", "/users/{id}/files"),  # longer: never matches /users/export
        ("GET", "/teams/export"),  # no templated sibling
    )

    assert shadowed_methods(operations) == {"/users/export": (frozenset({"GET"}), frozenset({"PUT", "DELETE"}))}


def test_a_literal_path_with_every_method_of_its_sibling_needs_no_guard() -> None:
    assert shadowed_methods(_keys(("GET", "/users/export"), ("GET", "/users/{id}"))) == {}


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST", "HEAD"])
def test_the_export_path_refuses_the_user_methods_with_405_and_allow(client: TestClient, method: str) -> None:
    response = client.request(method, "/api/v1/users/export", headers=bearer(sign_in(client)))

    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    if method != "HEAD":
        assert response.headers["Content-Type"] == "application/problem+json"


def test_the_templated_path_still_names_all_its_methods(client: TestClient) -> None:
    response = client.post("/api/v1/users/3f0c8a52-6f0e-4d51-9a42-3c0d7f6c8b11", headers=bearer(sign_in(client)))

    assert response.status_code == 405
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
