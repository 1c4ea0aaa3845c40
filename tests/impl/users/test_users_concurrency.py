"""Idempotency keys and concurrent writers, on SQLite and PostgreSQL, with truly concurrent requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from impl.platform.db.engine import create_engine, create_sessions
from impl.platform.idempotency import IdempotencyRecord, IdempotencyStore, fingerprint
from impl.platform.settings import Settings
from tests.impl.users.conftest import concurrent_client

USERS = "/api/v1/users"
MERGE = {"Content-Type": "application/merge-patch+json"}


def test_same_key_and_body_replays_the_first_answer(api: TestClient) -> None:
    body = {"email": "idem@example.com", "name": "Idem"}
    first = api.post(USERS, json=body, headers={"Idempotency-Key": "key-000001"})
    again = api.post(USERS, json=body, headers={"Idempotency-Key": "key-000001"})

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert len(api.get(f"{USERS}?role=user").json()["items"]) == 1


def test_same_key_with_another_body_is_422_and_creates_nothing(api: TestClient) -> None:
    api.post(USERS, json={"email": "one@example.com", "name": "One"}, headers={"Idempotency-Key": "key-000002"})
    other = api.post(USERS, json={"email": "two@example.com", "name": "Two"}, headers={"Idempotency-Key": "key-000002"})
    assert other.status_code == 422
    assert "different request body" in other.json()["detail"]
    assert [u["email"] for u in api.get(f"{USERS}?role=user").json()["items"]] == ["one@example.com"]


def test_a_failed_first_request_does_not_pin_its_key(api: TestClient) -> None:
    api.post(USERS, json={"email": "taken@example.com", "name": "T"})
    body = {"email": "taken@example.com", "name": "Retry"}
    assert api.post(USERS, json=body, headers={"Idempotency-Key": "key-000003"}).status_code == 409
    # The 409 was not stored: once the email is free, the same key and body create the user.
    taken = api.get(f"{USERS}?role=user").json()["items"][0]
    assert api.delete(f"{USERS}/{taken['id']}").status_code == 204
    assert api.post(USERS, json=body, headers={"Idempotency-Key": "key-000003"}).status_code == 201


def test_a_key_still_in_flight_is_409(api: TestClient, users_settings: Settings) -> None:
    body = {"email": "flight@example.com", "name": "F", "active": True}

    async def claim() -> None:
        engine = create_engine(users_settings)
        try:
            store = IdempotencyStore(sessions=create_sessions(engine))
            claimed = await store.claim(scope=f"POST {USERS}", key="key-000004", request_fingerprint=fingerprint(body))
            assert claimed is None
        finally:
            await engine.dispose()

    asyncio.run(claim())  # a first request that is still running
    response = api.post(USERS, json=body, headers={"Idempotency-Key": "key-000004"})
    assert response.status_code == 409
    assert response.headers["retry-after"] == "1"


def test_twenty_concurrent_identical_requests_create_exactly_one_user(users_app: FastAPI) -> None:
    body = {"email": "burst@example.com", "name": "Burst"}

    async def burst() -> tuple[list[Any], list[Any]]:
        async with concurrent_client(users_app) as client:
            responses = await asyncio.gather(
                *(client.post(USERS, json=body, headers={"Idempotency-Key": "key-burst-01"}) for _ in range(20))
            )
            listed = (await client.get(f"{USERS}?role=user")).json()["items"]
        return list(responses), listed

    responses, listed = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses  # replayed, or told the first is still in flight
    assert 201 in statuses
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert [u["email"] for u in listed] == ["burst@example.com"]


def test_two_writers_with_the_same_etag_exactly_one_wins(users_app: FastAPI) -> None:
    async def race() -> tuple[list[int], dict[str, Any]]:
        async with concurrent_client(users_app) as client:
            created = (await client.post(USERS, json={"email": "race@example.com", "name": "Start"})).json()
            url = f"{USERS}/{created['id']}"
            etag = (await client.get(url)).headers["etag"]
            results = await asyncio.gather(
                *(
                    client.patch(url, json={"name": f"Writer {i}"}, headers={**MERGE, "If-Match": etag})
                    for i in range(2)
                )
            )
            return [r.status_code for r in results], (await client.get(url)).json()

    statuses, final = asyncio.run(race())
    assert sorted(statuses) == [200, 412]
    assert final["name"] in {"Writer 0", "Writer 1"}


def test_concurrent_changes_without_if_match_lose_no_update(users_app: FastAPI) -> None:
    async def race() -> dict[str, Any]:
        async with concurrent_client(users_app) as client:
            created = (await client.post(USERS, json={"email": "merge@example.com", "name": "Start"})).json()
            url = f"{USERS}/{created['id']}"
            results = await asyncio.gather(
                client.patch(url, json={"name": "Renamed"}, headers=MERGE),
                client.patch(url, json={"active": False}, headers=MERGE),
                client.patch(url, json={"email": "merged@example.com"}, headers=MERGE),
            )
            assert [r.status_code for r in results] == [200, 200, 200]
            body: dict[str, Any] = (await client.get(url)).json()
            return body

    final = asyncio.run(race())
    assert (final["name"], final["active"], final["email"]) == ("Renamed", False, "merged@example.com")


def test_keys_are_kept_24_hours_then_forgotten(api: TestClient, users_settings: Settings) -> None:
    body = {"email": "kept@example.com", "name": "Kept"}
    assert api.post(USERS, json=body, headers={"Idempotency-Key": "key-000005"}).status_code == 201

    async def rows() -> list[tuple[Any, Any]]:
        engine = create_engine(users_settings)
        try:
            async with create_sessions(engine).read() as session:
                result = await session.execute(select(IdempotencyRecord.claimed_at, IdempotencyRecord.expires_at))
                return [(row[0], row[1]) for row in result]
        finally:
            await engine.dispose()

    async def age_all(by: timedelta) -> None:
        engine = create_engine(users_settings)
        try:
            async with create_sessions(engine).write.begin() as session:
                for record in (await session.scalars(select(IdempotencyRecord))).all():
                    record.expires_at = record.expires_at - by
        finally:
            await engine.dispose()

    ((claimed_at, expires_at),) = asyncio.run(rows())
    assert expires_at - claimed_at >= timedelta(hours=24)
    # Still within the 24 h: another body with this key is refused.
    other = {"email": "other@example.com", "name": "Other"}
    assert api.post(USERS, json=other, headers={"Idempotency-Key": "key-000005"}).status_code == 422
    asyncio.run(age_all(timedelta(hours=24, seconds=1)))
    # Expired: the key is free again.
    assert api.post(USERS, json=other, headers={"Idempotency-Key": "key-000005"}).status_code == 201


def test_two_admins_demoting_each_other_at_once_leave_one_admin(users_app: FastAPI) -> None:
    """The last-admin rule under write skew: each change alone keeps an admin, both together would not."""
    password = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture

    async def trial(client: Any, number: int) -> list[int]:
        body = {"email": f"second{number}@example.com", "name": "Second", "role": "admin", "password": password}
        second = (await client.post(USERS, json=body)).json()
        signed_in = await client.post("/api/v1/auth/login", json={"email": body["email"], "password": password})
        theirs = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        me = (await client.get("/api/v1/auth/me")).json()
        results = await asyncio.gather(
            client.patch(f"{USERS}/{second['id']}", json={"active": False}, headers=MERGE),
            client.patch(f"{USERS}/{me['id']}", json={"active": False}, headers={**MERGE, **theirs}),
        )
        # Whoever's change went through is the admin left; the other one is refused (or was deactivated).
        survivor = {} if results[0].status_code == 200 else theirs
        active_admins = (await client.get(f"{USERS}?role=admin&active=true", headers=survivor)).json()["items"]
        assert len(active_admins) == 1, [r.status_code for r in results]
        # Put things back for the next trial: the bootstrap admin active, the second one gone.
        await client.patch(f"{USERS}/{me['id']}", json={"active": True}, headers={**MERGE, **survivor})
        await client.delete(f"{USERS}/{second['id']}")
        return sorted(r.status_code for r in results)

    async def trials() -> list[list[int]]:
        async with concurrent_client(users_app) as client:
            return [await trial(client, number) for number in range(6)]

    for statuses in asyncio.run(trials()):
        # The loser is refused by the rule (409), or, when the winner's change ended its sessions first, as
        # signed out (401); never both through.
        assert statuses in ([200, 401], [200, 409])
