"""GET /api/v1/users/stats on both databases: sign-ups per day and per ISO week at the UTC day's edges, counts by
role and state equal to direct SQL counts, CSV, a report that follows the users' changes, and bad windows."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from impl.app import create_app
from impl.users.models import UserRecord
from tests.conftest import bearer, sign_in, test_settings

USERS = "/api/v1/users"
STATS = f"{USERS}/stats"
MEMBER_PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
# (created_at, role, active): a March 2026 seen from its UTC days. 2026-03-02 is a Monday.
SEEDED = [
    (datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), "user", True),  # Sunday, last second
    (datetime(2026, 3, 2, 0, 0, 0, tzinfo=UTC), "user", True),  # Monday, first second
    (datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC), "moderator", False),
    (datetime(2026, 3, 4, 9, 30, 0, tzinfo=UTC), "user", False),
    (datetime(2026, 3, 8, 23, 0, 0, tzinfo=UTC), "admin", True),  # Sunday
    (datetime(2026, 3, 9, 1, 0, 0, tzinfo=UTC), "user", True),  # Monday
    (datetime(2026, 3, 16, 8, 0, 0, tzinfo=UTC), "user", True),  # outside the windows below
]


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            session.add_all(
                UserRecord(
                    id=uuid.uuid4(),
                    email=f"seeded{n}@example.com",
                    name=f"Seeded {n}",
                    role=role,
                    active=active,
                    created_at=created_at,
                    updated_at=created_at,
                    version=1,
                )
                for n, (created_at, role, active) in enumerate(SEEDED)
            )
    finally:
        await engine.dispose()


async def direct_counts(url: str, days: list[date]) -> tuple[list[int], dict[str, int], dict[bool, int]]:
    """Plain COUNT(*) per UTC day, role and state: no GROUP BY, no date functions, the column type's own bounds."""
    engine = create_async_engine(url)
    try:
        async with async_sessionmaker(engine)() as session:

            async def count(*where: ColumnElement[bool]) -> int:
                return int(
                    (await session.execute(select(func.count()).select_from(UserRecord).where(*where))).scalar_one()
                )

            per_day = []
            for day in days:
                since = datetime(day.year, day.month, day.day, tzinfo=UTC)
                per_day.append(
                    await count(UserRecord.created_at >= since, UserRecord.created_at < since + timedelta(days=1))
                )
            roles = {role: await count(UserRecord.role == role) for role in ("admin", "moderator", "user")}
            states = {state: await count(UserRecord.active.is_(state)) for state in (True, False)}
            return per_day, roles, states
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def seeded(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    app = create_app(test_settings(tmp_path_factory.mktemp("stats"), database_url=module_database_url))
    with TestClient(app, raise_server_exceptions=False) as client:  # the lifespan migrates and adds the admin
        asyncio.run(_seed(module_database_url))
        client.headers.update(bearer(sign_in(client)))
        yield client, module_database_url


def report(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get(STATS, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_daily_signups_are_counted_by_utc_day_and_equal_direct_sql_counts(seeded: tuple[TestClient, str]) -> None:
    client, url = seeded
    body = report(client, start="2026-02-28", end="2026-03-09")
    days = [date(2026, 2, 28) + timedelta(days=n) for n in range(10)]
    assert body["signups"] == [
        {"period_start": day.isoformat(), "count": count}
        for day, count in zip(days, [0, 1, 2, 0, 1, 0, 0, 0, 1, 1], strict=True)
    ]
    per_day, roles, states = asyncio.run(direct_counts(url, days))
    assert [bucket["count"] for bucket in body["signups"]] == per_day
    # The seeded users and the bootstrap admin, whatever else: the same numbers as plain counts.
    assert body["by_role"] == roles
    assert body["by_active"] == {"active": states[True], "inactive": states[False]}
    assert body["total"] == sum(roles.values()) == len(SEEDED) + 1


def test_weekly_signups_are_listed_under_their_monday_and_count_only_days_inside_the_window(
    seeded: tuple[TestClient, str],
) -> None:
    client, _ = seeded
    # Wednesday 2026-02-25 to Tuesday 2026-03-10: the week of 23 Feb from the 25th, then two whole weeks, then
    # two days of the week of 9 March.
    body = report(client, start="2026-02-25", end="2026-03-10", period="week")
    assert (body["start"], body["end"], body["period"]) == ("2026-02-25", "2026-03-10", "week")
    assert body["signups"] == [
        {"period_start": "2026-02-23", "count": 1},
        {"period_start": "2026-03-02", "count": 4},
        {"period_start": "2026-03-09", "count": 1},
    ]
    # A window starting on the Monday of 2 March leaves the Sunday before out.
    narrow = report(client, start="2026-03-02", end="2026-03-08", period="week")
    assert narrow["signups"] == [{"period_start": "2026-03-02", "count": 4}]


def test_the_csv_report_has_one_count_per_row(seeded: tuple[TestClient, str]) -> None:
    client, _ = seeded
    body = report(client, start="2026-03-01", end="2026-03-02")
    response = client.get(STATS, params={"start": "2026-03-01", "end": "2026-03-02", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "\r\n" in response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    by_role, by_active = body["by_role"], body["by_active"]
    assert isinstance(by_role, dict)
    assert isinstance(by_active, dict)
    assert rows == [
        ["group", "key", "count"],
        ["signups", "2026-03-01", "1"],
        ["signups", "2026-03-02", "2"],
        *(["role", role, str(by_role[role])] for role in ("admin", "moderator", "user")),
        ["active", "true", str(by_active["active"])],
        ["active", "false", str(by_active["inactive"])],
    ]


def test_the_default_window_is_the_30_days_up_to_today_and_follows_sign_ups_and_deactivations(
    seeded: tuple[TestClient, str],
) -> None:
    client, _ = seeded
    before = report(client)
    today = datetime.now(UTC).date()
    signups = before["signups"]
    assert isinstance(signups, list)
    assert [bucket["period_start"] for bucket in signups] == [
        (today - timedelta(days=29 - n)).isoformat() for n in range(30)
    ]
    created = client.post(USERS, json={"email": "stats-new@example.com", "name": "Counted", "role": "user"})
    assert created.status_code == 201, created.text
    after = report(client)
    assert after["signups"][-1]["count"] == signups[-1]["count"] + 1
    assert after["by_role"]["user"] == before["by_role"]["user"] + 1
    user = created.json()
    patched = client.patch(
        f"{USERS}/{user['id']}",
        json={"active": False},
        headers={"content-type": "application/merge-patch+json", "if-match": created.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    deactivated = report(client)
    assert deactivated["by_active"] == {
        "active": after["by_active"]["active"] - 1,
        "inactive": after["by_active"]["inactive"] + 1,
    }


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"start": "2026-03-10", "end": "2026-03-09"}, "start"),
        ({"start": "2025-03-08", "end": "2026-03-09"}, "start"),  # 367 days: one more than the most
        ({"start": "2026-02-30"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"period": "month"}, "period"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_a_bad_window_or_option_is_a_422_naming_the_parameter(
    seeded: tuple[TestClient, str], params: dict[str, str], where: str
) -> None:
    client, _ = seeded
    response = client.get(STATS, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == [where]


def test_an_open_window_ends_today_or_starts_29_days_before_its_end(seeded: tuple[TestClient, str]) -> None:
    client, _ = seeded
    today = datetime.now(UTC).date()
    since = report(client, start=(today - timedelta(days=3)).isoformat())
    assert (since["start"], since["end"]) == ((today - timedelta(days=3)).isoformat(), today.isoformat())
    until = report(client, end="2026-03-09")
    assert (until["start"], until["end"]) == ("2026-02-08", "2026-03-09")


def test_a_window_of_exactly_366_days_is_accepted(seeded: tuple[TestClient, str]) -> None:
    client, _ = seeded
    body = report(client, start="2025-03-09", end="2026-03-09")
    assert isinstance(body["signups"], list)
    assert len(body["signups"]) == 366


def test_a_moderator_may_read_the_report_and_a_user_may_not(seeded: tuple[TestClient, str]) -> None:
    client, _ = seeded
    for email, role, status in [("stats-mod@example.com", "moderator", 200), ("stats-user@example.com", "user", 403)]:
        member = {"email": email, "name": "Member", "role": role, "password": MEMBER_PASSWORD}
        assert client.post(USERS, json=member).status_code == 201
        token = sign_in(client, email, MEMBER_PASSWORD)
        assert client.get(STATS, headers=bearer(token)).status_code == status
