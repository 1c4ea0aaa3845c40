"""GET /api/v1/users/export over a real socket: NDJSON and CSV, access, a client that leaves, constant memory."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from impl.app import create_app
from impl.users.export import guard_formula
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.live_server import LiveServer, live_server
from tests.server_processes import admin_sql, fresh_database, rss_bytes, server_process

USERS = "/api/v1/users"
EXPORT = f"{USERS}/export"
MEMBER_PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
TIMEOUT = httpx.Timeout(30.0)
# Names a spreadsheet would run as formulas, and ones that need RFC 4180 quoting.
NAMES = ["=HYPERLINK(1)", "+1 plus", "-2 minus", "@SUM(A1)", 'Comma, "Quoted"', "Ada Lovelace"]


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture(scope="module")
def server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = test_settings(tmp_path_factory.mktemp("export"), database_url=module_database_url)
    with live_server(create_app(settings)) as running:
        yield running


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        client.headers.update(bearer(login(client, ADMIN_EMAIL, ADMIN_PASSWORD)))
        yield client


@pytest.fixture(scope="module")
def users(admin: httpx.Client) -> list[dict[str, Any]]:
    """Every user after creating a few with awkward names, as GET /users/{id} shows them, ordered by id."""
    for n, name in enumerate(NAMES):
        response = admin.post(USERS, json={"email": f"export{n}@example.com", "name": name})
        assert response.status_code == 201, response.text
    listed = admin.get(USERS, params={"limit": 100}).json()["items"]
    return sorted((admin.get(f"{USERS}/{user['id']}").json() for user in listed), key=lambda user: user["id"])


def test_ndjson_is_one_user_per_line_exactly_as_the_api_shows_them(
    admin: httpx.Client, users: list[dict[str, Any]]
) -> None:
    response = admin.get(EXPORT)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert re.fullmatch(r'attachment; filename="users-\d{8}T\d{6}Z\.ndjson"', response.headers["content-disposition"])
    assert response.text.endswith("\n")
    assert [json.loads(line) for line in response.text.splitlines()] == users


def test_ndjson_is_the_default_format(admin: httpx.Client, users: list[dict[str, Any]]) -> None:
    assert admin.get(EXPORT).text == admin.get(EXPORT, params={"format": "ndjson"}).text


def test_csv_has_the_header_rfc_4180_quoting_and_defused_formulas(
    admin: httpx.Client, users: list[dict[str, Any]]
) -> None:
    response = admin.get(EXPORT, params={"format": "csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    assert response.content.startswith(b"id,email,name,role,active,created_at,updated_at\r\n")
    rows = list(csv.DictReader(io.StringIO(response.text, newline="")))
    expected_names = {
        "=HYPERLINK(1)": "'=HYPERLINK(1)",
        "+1 plus": "'+1 plus",
        "-2 minus": "'-2 minus",
        "@SUM(A1)": "'@SUM(A1)",
    }
    assert rows == [
        {
            **user,
            "id": user["id"],
            "name": expected_names.get(user["name"], user["name"]),
            "active": "true" if user["active"] else "false",
        }
        for user in users
    ]
    assert '"Comma, ""Quoted"""' in response.text  # quoted, with doubled quotes


def test_who_may_export(server: LiveServer, admin: httpx.Client) -> None:
    member = {"email": "member-export@example.com", "name": "Member", "password": MEMBER_PASSWORD}
    assert admin.post(USERS, json=member).status_code == 201
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        token = login(client, member["email"], MEMBER_PASSWORD)
        assert client.get(EXPORT, headers=bearer(token)).status_code == 403
        assert client.get(EXPORT).status_code == 401
    refused = admin.get(EXPORT, params={"format": "xml"})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"


def insert_users_sqlite(database: Path, count: int) -> None:
    """Many users at once, straight into the table (the API would hash nothing, but is one request per user)."""
    with sqlite3.connect(database) as connection:
        connection.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO users (id, email, name, role, active, created_at, updated_at, version)
            SELECT lower(hex(randomblob(16))), 'bulk' || i || '@example.com', 'Bulk User ' || i, 'user', 1,
                   '2026-11-28 10:00:00.000000', '2026-11-28 10:00:00.000000', 1
            FROM n
            """,
            (count,),
        )


def test_a_client_that_leaves_mid_export_stops_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="charter.users.export")
    total = 60_000  # ~11 MB of NDJSON: more than the socket buffers between server and client can hold
    settings = test_settings(tmp_path / "data")
    with live_server(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        insert_users_sqlite(settings.data_dir / "charter.db", total)
        token = login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
        with client.stream("GET", EXPORT, headers=bearer(token)) as response:
            first = next(response.iter_lines())
        assert json.loads(first)["email"]

        def ended() -> list[logging.LogRecord]:
            return [r for r in caplog.records if r.getMessage().startswith("users export ")]

        deadline = time.monotonic() + 10
        while not ended() and time.monotonic() < deadline:
            time.sleep(0.02)
        chunks_at_end = sum(r.getMessage().startswith("export chunk") for r in caplog.records)
        [outcome] = ended()
        # Whatever the server does from here on, it reads nothing more for that export.
        assert client.get("/livez").status_code == 200

    assert "stopped early" in outcome.getMessage()
    rows = int(outcome.getMessage().split(": ")[1].split(" rows")[0])
    assert rows < total
    assert sum(r.getMessage().startswith("export chunk") for r in caplog.records) == chunks_at_end


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_every_formula_trigger_is_defused(cell: str) -> None:
    assert guard_formula(cell) == f"'{cell}"


@pytest.mark.parametrize("cell", ["Ada", "1-2", "a=b", "", "'quoted"])
def test_ordinary_cells_are_left_alone(cell: str) -> None:
    assert guard_formula(cell) == cell


BULK_USERS = 100_000
RSS_GROWTH_LIMIT = 30 * 1024 * 1024


@pytest.mark.slow
def test_exporting_100k_users_from_postgresql_keeps_the_server_memory_flat(postgres_url: str, tmp_path: Path) -> None:
    with (
        fresh_database(postgres_url) as database_url,
        server_process(data_dir=tmp_path / "server", database_url=database_url) as server,
    ):
        started = time.monotonic()
        asyncio.run(
            admin_sql(
                database_url.replace("+asyncpg", ""),
                """
                INSERT INTO users (id, email, name, role, active, created_at, updated_at, version)
                SELECT gen_random_uuid(), 'bulk' || i || '@example.com', 'Bulk User ' || i, 'user', true,
                       now(), now(), 1
                FROM generate_series(1, 100000) AS i  -- BULK_USERS
                """,
            )
        )
        inserted_in = time.monotonic() - started
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
            client.headers.update(bearer(login(client, ADMIN_EMAIL, ADMIN_PASSWORD)))
            # Warm up the code paths (imports, the pool, the first chunk) so the baseline is the steady state.
            with client.stream("GET", EXPORT) as response:
                next(response.iter_lines())
            baseline = rss_bytes(server.process.pid)
            peak = baseline
            done = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_bytes(server.process.pid))
                    done.wait(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            lines, received = 0, 0
            try:
                with client.stream("GET", EXPORT) as response:
                    assert response.status_code == 200
                    for line in response.iter_lines():
                        assert json.loads(line)["id"]
                        lines += 1
                        received += len(line) + 1
            finally:
                done.set()
                sampler.join()
            exported_in = time.monotonic() - started

    growth = peak - baseline
    print(  # the measurement, for the record (pytest -s shows it)
        f"\nexport of {lines} users: {received / 1e6:.1f} MB in {exported_in:.1f} s "
        f"(bulk insert {inserted_in:.1f} s); server RSS {baseline / 2**20:.1f} MiB before, "
        f"peak {peak / 2**20:.1f} MiB, growth {growth / 2**20:.1f} MiB"
    )
    assert lines == BULK_USERS + 1  # and the bootstrap admin
    assert growth < RSS_GROWTH_LIMIT
    assert growth < received / 4  # far below the size of the data: nothing accumulates
