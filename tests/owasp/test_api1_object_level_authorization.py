"""API1:2023 Broken Object Level Authorization — nobody reaches another user's record by changing an id.

A self-only caller (a `user`; a `moderator` for writes) on someone else's id gets the same 404 as for an id that
does not exist, whatever the method, and the other user's record is untouched. Ids are random UUIDv4, so they cannot
be guessed by counting. Runs on both databases.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.owasp.conftest import MERGE_PATCH, USERS, Account, make_account, unique_email

ATTEMPTS: dict[str, dict[str, Any]] = {
    "GET": {},
    "HEAD": {},
    "OPTIONS": {},
    "PUT": {"json": {"email": "stolen@example.com", "name": "Mallory", "active": False}},
    "PATCH": {"content": b'{"name": "Mallory", "active": false}', "headers": MERGE_PATCH},
}


def _read(client: TestClient, admin_token: str, user_id: str) -> dict[str, Any]:
    response = client.get(f"{USERS}/{user_id}", headers=bearer(admin_token))
    assert response.status_code == 200, response.text
    record: dict[str, Any] = response.json()
    return record


def _attempt(client: TestClient, method: str, user_id: str, attacker: Account) -> int:
    options = dict(ATTEMPTS[method])
    headers = {**attacker.headers, **options.pop("headers", {})}
    return client.request(method, f"{USERS}/{user_id}", headers=headers, **options).status_code


def test_a_user_on_another_users_id_gets_404_and_changes_nothing(db_client: TestClient, db_admin: str) -> None:
    # One app per database is costly to start, so every method is tried in one test; the message names the method.
    alice, bob = make_account(db_client, db_admin), make_account(db_client, db_admin)
    before = _read(db_client, db_admin, bob.id)

    for method in ATTEMPTS:
        assert _attempt(db_client, method, bob.id, alice) == 404, method
        assert _read(db_client, db_admin, bob.id) == before, method


def test_a_moderator_cannot_change_another_users_record(db_client: TestClient, db_admin: str) -> None:
    moderator, bob = make_account(db_client, db_admin, role="moderator"), make_account(db_client, db_admin)
    before = _read(db_client, db_admin, bob.id)

    for method in ("PUT", "PATCH"):
        assert _attempt(db_client, method, bob.id, moderator) == 404, method
        assert _read(db_client, db_admin, bob.id) == before, method


def test_a_user_cannot_delete_another_user(db_client: TestClient, db_admin: str) -> None:
    alice, bob = make_account(db_client, db_admin), make_account(db_client, db_admin)

    assert db_client.delete(f"{USERS}/{bob.id}", headers=alice.headers).status_code == 403
    assert _read(db_client, db_admin, bob.id)["email"] == bob.email


def test_someone_elses_id_and_a_missing_id_answer_alike(db_client: TestClient, db_admin: str) -> None:
    alice, bob = make_account(db_client, db_admin), make_account(db_client, db_admin)
    missing = str(uuid.uuid4())

    taken = db_client.get(f"{USERS}/{bob.id}", headers=alice.headers)
    absent = db_client.get(f"{USERS}/{missing}", headers=alice.headers)

    assert taken.status_code == absent.status_code == 404
    assert taken.json()["title"] == absent.json()["title"]
    assert taken.json()["detail"].replace(bob.id, missing) == absent.json()["detail"]


def test_the_user_still_reaches_their_own_record(db_client: TestClient, db_admin: str) -> None:
    alice = make_account(db_client, db_admin)

    assert db_client.get(f"{USERS}/{alice.id}", headers=alice.headers).json()["email"] == alice.email


def test_ids_are_random_uuid_v4(db_client: TestClient, db_admin: str) -> None:
    ids = [
        uuid.UUID(
            db_client.post(USERS, json={"email": unique_email(), "name": "Random Id"}, headers=bearer(db_admin)).json()[
                "id"
            ]
        )
        for _ in range(3)
    ]

    assert all(value.version == 4 for value in ids)
    assert len({value.int >> 64 for value in ids}) == len(ids), "ids share a prefix, as counters would"
