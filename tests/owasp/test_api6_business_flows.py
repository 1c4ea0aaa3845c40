"""API6:2023 Unrestricted Access to Sensitive Business Flows — registration and password change can't be farmed.

Registration answers the same whether the email is new or taken (no account discovery), and both registration and
password change sit under the `auth` rate-limit policy (5 per 300 s), per client and per account.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import sign_in, test_settings
from tests.owasp.conftest import AUTH, PASSWORD, make_account, unique_email


@pytest.fixture
def limited_client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(test_settings(tmp_path / "data", rate_limit_enabled=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _register(client: TestClient, email: str) -> tuple[int, object]:
    response = client.post(f"{AUTH}/register", json={"email": email, "name": "Olive Tester", "password": PASSWORD})
    return response.status_code, response.json()


def test_a_taken_email_and_a_new_one_get_the_same_answer(api: TestClient) -> None:
    email = unique_email()
    first = _register(api, email)

    assert _register(api, email) == first
    assert _register(api, unique_email()) == first
    assert first[0] == 202


def test_registration_is_rate_limited_per_client(limited_client: TestClient) -> None:
    answers = [_register(limited_client, unique_email())[0] for _ in range(6)]

    assert answers == [202] * 5 + [429]


def test_password_change_is_rate_limited_per_account(limited_client: TestClient) -> None:
    user = make_account(limited_client, sign_in(limited_client))
    attempt = {"current_password": "guessing the current one", "new_password": "seven copper kites over the marsh"}

    answers = [
        limited_client.post(f"{AUTH}/me/password", json=attempt, headers=user.headers).status_code for _ in range(6)
    ]

    assert answers == [403] * 5 + [429]
