"""Users publish user.created / user.updated / user.deleted on the app's bus, after each committed change only."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from generated import models
from impl.app import create_app
from impl.platform.events import Event, EventBus, RedisEventBus, Subscription
from impl.users.publishing import UserEvents
from tests.conftest import test_settings
from tests.impl.users.conftest import concurrent_client

USERS = "/api/v1/users"
MERGE = {"Content-Type": "application/merge-patch+json"}


async def drain(bus: EventBus, subscription: Subscription) -> list[Event]:
    """Every event queued so far: read up to a marker published now (the bus keeps order)."""
    await bus.publish(Event(type="test.end"))
    events: list[Event] = []
    async for event in subscription:
        if event.type == "test.end":
            return events
        events.append(event)
    raise AssertionError("the subscription ended before the marker")


def test_each_committed_change_publishes_exactly_one_event_with_the_agreed_shape(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))

    async def scenario() -> tuple[list[Event], dict[str, Any], dict[str, Any]]:
        bus = app.state.events
        async with concurrent_client(app) as client, bus.subscribe(types=["user.*", "test.end"]) as subscription:
            created = (await client.post(USERS, json={"email": "ev@example.com", "name": "Ev"})).json()
            location = f"{USERS}/{created['id']}"
            patched = (await client.patch(location, json={"name": "Eve"}, headers=MERGE)).json()
            unchanged = await client.patch(location, json={"name": "Eve"}, headers=MERGE)
            assert unchanged.status_code == 200
            refused = await client.post(USERS, json={"email": "ev@example.com", "name": "Taken"})
            assert refused.status_code == 409
            replaced = await client.put(location, json={"email": "ev@example.com", "name": "Eva", "active": True})
            assert replaced.status_code == 200
            assert (await client.delete(location)).status_code == 204
            assert (await client.delete(location)).status_code == 404
            return await drain(bus, subscription), created, patched

    events, created, patched = asyncio.run(scenario())

    assert [event.type for event in events] == ["user.created", "user.updated", "user.updated", "user.deleted"]
    assert events[0].data["user"] == created  # exactly the resource the API returns
    assert events[1].data["user"] == patched
    assert events[2].data["user"]["name"] == "Eva"
    assert events[3].data == {"user_id": created["id"]}
    for event in events:  # what the SSE stream sends as data: the spec's EventEnvelope
        models.EventEnvelope.model_validate(event.as_dict())


def test_sign_up_and_profile_changes_through_auth_are_published_too(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))
    password = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture

    async def scenario() -> tuple[list[Event], dict[str, Any]]:
        bus = app.state.events
        async with concurrent_client(app) as client, bus.subscribe(types=["user.*", "test.end"]) as subscription:
            account = {"email": "reg@example.com", "name": "Reggie Signup", "password": password}
            assert (await client.post("/api/v1/auth/register", json=account)).status_code == 202
            assert (await client.post("/api/v1/auth/register", json=account)).status_code == 202  # taken: nothing
            login = await client.post("/api/v1/auth/login", json={"email": account["email"], "password": password})
            own = {"Authorization": f"Bearer {login.json()['access_token']}"}
            renamed = await client.patch("/api/v1/auth/me", json={"name": "Reggie Renamed"}, headers={**MERGE, **own})
            assert renamed.status_code == 200, renamed.text
            unchanged = await client.patch("/api/v1/auth/me", json={"name": "Reggie Renamed"}, headers={**MERGE, **own})
            assert unchanged.status_code == 200
            return await drain(bus, subscription), renamed.json()

    events, renamed = asyncio.run(scenario())

    assert [event.type for event in events] == ["user.created", "user.updated"]
    assert events[0].data["user"]["email"] == "reg@example.com"
    assert events[0].data["user"]["role"] == "user"
    assert events[1].data["user"] == renamed


def test_a_replayed_idempotent_create_publishes_nothing_more(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))

    async def scenario() -> list[Event]:
        bus = app.state.events
        async with concurrent_client(app) as client, bus.subscribe(types=["user.*", "test.end"]) as subscription:
            for _ in range(2):
                response = await client.post(
                    USERS,
                    json={"email": "once@example.com", "name": "Once"},
                    headers={"Idempotency-Key": "key-events-01"},
                )
                assert response.status_code == 201
            return await drain(bus, subscription)

    assert [event.type for event in asyncio.run(scenario())] == ["user.created"]


def test_an_event_the_bus_cannot_take_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    # A Redis bus on a port nothing listens on: its publish raises EventBusUnavailableError (the write is committed).
    bus = RedisEventBus(redis_url="redis://127.0.0.1:9/0", socket_timeout=0.2)
    user = models.User(
        id=uuid.uuid4(),
        email="kept@example.com",
        name="Kept",
        role=models.Role.user,
        active=True,
        created_at=datetime(2026, 11, 28, tzinfo=UTC),
        updated_at=datetime(2026, 11, 28, tzinfo=UTC),
    )

    async def publish_all() -> None:
        events = UserEvents(bus=bus)
        try:
            await events.created(user)
            await events.updated(user)
            await events.deleted(user.id)
        finally:
            await bus.close()

    asyncio.run(publish_all())

    failures = [r for r in caplog.records if r.name == "charter.users.events"]
    assert [r.levelname for r in failures] == ["WARNING"] * 3
    assert "the change stands" in failures[0].getMessage()
