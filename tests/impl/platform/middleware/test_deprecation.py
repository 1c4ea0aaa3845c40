"""Deprecated operations announce themselves on every response: `Deprecation: @<unix seconds>` (RFC 9745),
`Sunset: <HTTP-date>` (RFC 8594) and their `Link`s; other operations answer without them.

The app is built from the fixture spec tests/scripts/fixtures/deprecated.yaml through the generator (the project's
spec deprecates nothing yet): its generated routers, its generated DEPRECATIONS, and the middleware under test.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

import impl.app as app_module
from generated.api._support import Deprecation
from generated.api.deprecations import DEPRECATIONS
from impl.platform.middleware.body_limit import BodyLimitMiddleware
from impl.platform.middleware.deprecation import DeprecationHeadersMiddleware
from impl.platform.problems import install_problem_handlers
from impl.platform.settings import Settings
from scripts.generate import generate_all

FIXTURE = Path(__file__).resolve().parents[3] / "scripts" / "fixtures" / "deprecated.yaml"
PACKAGE = "deprecationgen"
# The fixture's dates, written out independently of the generator.
WIDGETS_DEPRECATED_AT = datetime(2026, 1, 15, 12, 30, tzinfo=UTC)
WIDGETS_SUNSET = datetime(2027, 1, 31, tzinfo=UTC)
GADGETS_SUNSET = datetime(2026, 12, 1, 8, tzinfo=UTC)
# RFC 9110 IMF-fixdate, the only HTTP-date form a sender may generate.
IMF_FIXDATE = re.compile(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp(PACKAGE)
    generate_all(FIXTURE, root / PACKAGE, PACKAGE)
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(f"{PACKAGE}.api")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class _Widgets:
    """The generated WidgetsApi; the legacy gadgets list sets a `Link` of its own (like a paginated list)."""

    def __init__(self, models: ModuleType, reply: Any) -> None:
        self.models, self.reply = models, reply

    async def list_legacy_widgets(self, *, limit: int | None) -> Any:
        return self.models.Widget(name="old")

    async def list_legacy_gadgets(self) -> Any:
        return self.reply(self.models.Widget(name="gadget"), headers={"Link": '</legacy-gadgets?page=2>; rel="next"'})

    async def list_widgets(self) -> Any:
        return self.models.Widget(name="new")


@pytest.fixture(scope="module")
def client(generated: ModuleType) -> Iterator[TestClient]:
    models = importlib.import_module(f"{PACKAGE}.models")
    reply = importlib.import_module(f"{PACKAGE}.api._support").Reply
    deprecations = importlib.import_module(f"{PACKAGE}.api.deprecations").DEPRECATIONS
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(generated.build_widgets_router(_Widgets(models, reply)))

    @app.get("/own-sunset", operation_id="listLegacyWidgets")
    async def own_sunset() -> Response:  # an operation that sets its own Sunset: its value wins
        return Response(headers={"Sunset": "Fri, 01 Jan 2100 00:00:00 GMT"})

    app.add_middleware(DeprecationHeadersMiddleware, deprecations=deprecations)
    with TestClient(app) as test_client:
        yield test_client


def test_a_deprecated_operation_announces_its_dates_and_links(client: TestClient) -> None:
    response = client.get("/legacy-widgets")

    assert response.status_code == 200
    assert response.headers["deprecation"] == f"@{int(WIDGETS_DEPRECATED_AT.timestamp())}"
    sunset = response.headers["sunset"]
    assert IMF_FIXDATE.fullmatch(sunset), sunset
    assert sunset == "Sun, 31 Jan 2027 00:00:00 GMT"
    assert parsedate_to_datetime(sunset) == WIDGETS_SUNSET
    assert response.headers.get_list("link") == [
        '<https://docs.example.com/deprecations/legacy-widgets>; rel="deprecation"',
        '</docs#sunset-policy>; rel="sunset"',
    ]


def test_the_announcement_comes_with_the_operations_errors_too(client: TestClient) -> None:
    response = client.get("/legacy-widgets?limit=99")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["deprecation"] == f"@{int(WIDGETS_DEPRECATED_AT.timestamp())}"
    assert parsedate_to_datetime(response.headers["sunset"]) == WIDGETS_SUNSET


def test_without_links_only_the_dates_are_announced_and_the_operations_own_link_stays(client: TestClient) -> None:
    response = client.get("/legacy-gadgets")

    assert response.status_code == 200
    # x-deprecated-at 2026-03-01T00:00:00+02:00
    assert response.headers["deprecation"] == f"@{int(datetime(2026, 2, 28, 22, tzinfo=UTC).timestamp())}"
    assert response.headers["sunset"] == "Tue, 01 Dec 2026 08:00:00 GMT"
    assert parsedate_to_datetime(response.headers["sunset"]) == GADGETS_SUNSET
    assert response.headers.get_list("link") == ['</legacy-gadgets?page=2>; rel="next"']


@pytest.mark.parametrize("path", ["/widgets", "/no-such-path"])
def test_other_operations_and_unknown_paths_announce_nothing(client: TestClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == (200 if path == "/widgets" else 404)
    assert "deprecation" not in response.headers
    assert "sunset" not in response.headers
    assert "link" not in response.headers


def test_an_operations_own_sunset_header_wins(client: TestClient) -> None:
    response = client.get("/own-sunset")

    assert response.headers.get_list("sunset") == ["Fri, 01 Jan 2100 00:00:00 GMT"]
    assert response.headers["deprecation"] == f"@{int(WIDGETS_DEPRECATED_AT.timestamp())}"


def test_the_app_announces_what_generated_deprecations_lists(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    """The wiring in impl/app.py, with an entry as the generator would write it for a deprecated getHealth."""
    sunset = datetime(2030, 6, 1, tzinfo=UTC)
    entry = Deprecation(deprecated_at=int(WIDGETS_DEPRECATED_AT.timestamp()), sunset=int(sunset.timestamp()))
    monkeypatch.setattr(app_module, "DEPRECATIONS", {"getHealth": entry})
    with TestClient(app_module.create_app(settings)) as client:
        health, liveness = client.get("/health"), client.get("/livez")

    assert health.headers["deprecation"] == f"@{int(WIDGETS_DEPRECATED_AT.timestamp())}"
    assert health.headers["sunset"] == "Sat, 01 Jun 2030 00:00:00 GMT"
    assert "deprecation" not in liveness.headers
    assert "sunset" not in liveness.headers


def test_without_deprecated_operations_the_app_has_no_deprecation_layer(settings: Settings) -> None:
    assert DEPRECATIONS == {}  # the project's spec deprecates nothing yet
    app = app_module.create_app(settings)
    layers: list[object] = [layer.cls for layer in app.user_middleware]
    assert DeprecationHeadersMiddleware not in layers
    assert BodyLimitMiddleware in layers  # the others are there
