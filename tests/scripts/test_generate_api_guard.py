"""Secured routes of the generator: the guard runs first and once, and a tag module keeps working when its
annotations are postponed (``from __future__ import annotations``), which FastAPI resolves in module globals only."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pytest
import yaml
from fastapi import FastAPI, HTTPException, Request
from fastapi.testclient import TestClient

from impl.platform.problems import install_problem_handlers
from scripts.generate import generate_all

FIXTURE = Path(__file__).parent / "fixtures" / "items.yaml"
POSTPONED = "from __future__ import annotations\n\n"


def _secured_items_spec() -> dict[str, Any]:
    """The fixture spec with `POST /items` for admins only: a guarded operation with a JSON body; and
    `POST /items/renamed`, public, taking JSON or the same members as a form."""
    spec: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    spec.setdefault("components", {})["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    spec["components"]["schemas"]["Role"] = {"type": "string", "enum": ["admin", "user"]}
    spec["x-rate-limit-policies"] = {"general": {"limit": 100, "window_seconds": 1}}
    create = spec["paths"]["/items"]["post"]
    create.update({"security": [{"bearerAuth": []}], "x-roles": ["admin"], "x-rate-limit": "general"})
    for status in ("401", "403", "429", "503"):
        create["responses"][status] = {"description": status}
    schema = {"$ref": "#/components/schemas/ItemCreate"}
    rename = {key: value for key, value in create.items() if key not in ("security", "x-roles", "x-rate-limit")}
    rename.update({"operationId": "renameItem", "x-rate-limit": "none", "security": []})
    rename["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": schema}, "application/x-www-form-urlencoded": {"schema": schema}},
    }
    rename["responses"] = {code: create["responses"][code] for code in ("201", "415", "422")}
    spec["paths"]["/items/renamed"] = {"post": rename}
    return spec


class _Guard:
    """Admits `Bearer admin` only, and counts how often each operation's dependency runs."""

    def __init__(self, principal_type: type) -> None:
        self.principal_type = principal_type
        self.runs: list[str] = []

    def authorize(
        self, *, operation_id: str, roles: frozenset[str], self_only: frozenset[str], rate_limit: str | None
    ) -> Any:
        async def dependency(request: Request) -> Any:
            self.runs.append(operation_id)
            if request.headers.get("authorization") != "Bearer admin":
                raise HTTPException(401, "No valid access token.")
            return self.principal_type(subject=uuid4(), role="admin", token_id="t", family_id="f", expires_at=0)

        return dependency

    def admit(self, *, operation_id: str, rate_limit: str) -> Any:
        raise AssertionError("no public operation of this spec has a rate limit")


class _Items:
    def __init__(self, models: ModuleType) -> None:
        self.models = models
        self.created: list[tuple[str, str]] = []

    async def create_item(self, *, body: Any, principal: Any) -> Any:
        self.created.append((body.name, principal.role))
        return self.models.Item(id=uuid4(), name=body.name, note=None)

    async def get_item(self, *, item_id: Any, fields: int, if_none_match: str | None) -> Any:
        return self.models.Item(id=item_id, name="widget", note=None)

    async def delete_item(self, *, item_id: Any) -> None:
        return None

    async def rename_item(self, *, body: Any) -> Any:
        self.created.append((body.name, "anyone"))
        return self.models.Item(id=uuid4(), name=body.name, note=None)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The secured spec generated once (a package named ``securedgen``), to copy per test."""
    root = tmp_path_factory.mktemp("secured")
    spec = root / "spec.yaml"
    spec.write_text(yaml.safe_dump(_secured_items_spec()), encoding="utf-8")
    generate_all(spec, root / "securedgen", "securedgen")
    return root / "securedgen"


def _install(generated: Path, root: Path, package: str, *, postponed: bool) -> ModuleType:
    """The generated package under another name, its tag module's annotations postponed if asked."""
    for source in generated.rglob("*.py"):
        target = root / package / source.relative_to(generated)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8").replace("securedgen", package), encoding="utf-8")
    if postponed:
        module = root / package / "api" / "items.py"
        code = module.read_text(encoding="utf-8")
        module.write_text(code.replace("\nfrom typing import", f"\n{POSTPONED}from typing import", 1), encoding="utf-8")
    return importlib.import_module(f"{package}.api.items")


@pytest.fixture(params=[False, True], ids=["eager", "postponed"])
def secured(request: pytest.FixtureRequest, generated: Path, tmp_path: Path) -> Iterator[tuple[ModuleType, Path]]:
    package = f"securedgen_{'postponed' if request.param else 'eager'}"
    sys.path.insert(0, str(tmp_path))
    try:
        module = _install(generated, tmp_path, package, postponed=request.param)
        assert (POSTPONED in Path(str(module.__file__)).read_text(encoding="utf-8")) == request.param
        yield module, tmp_path / package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
            del sys.modules[name]


def test_the_guard_runs_first_and_once_and_hands_the_principal_to_the_handler(
    secured: tuple[ModuleType, Path],
) -> None:
    module, root = secured
    support = importlib.import_module(f"{root.name}.api._support")
    items, guard = _Items(importlib.import_module(f"{root.name}.models")), _Guard(support.Principal)
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(module.build_items_router(items, guard))
    admin = {"Authorization": "Bearer admin"}

    with TestClient(app, raise_server_exceptions=False) as client:
        # No token and the wrong media type: the guard answers before the media-type check.
        assert client.post("/items", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 401
        assert client.post("/items", content=b"x", headers={**admin, "Content-Type": "text/plain"}).status_code == 415
        assert client.post("/items", json={"name": ""}, headers=admin).status_code == 422
        created = client.post("/items", json={"name": "widget"}, headers=admin)
        # Public operations stay public: no guard, no principal.
        read = client.get(f"/items/{uuid4()}")

    assert created.status_code == 201
    assert read.status_code == 200
    assert items.created == [("widget", "admin")]
    assert guard.runs == ["createItem"] * 4  # once per guarded request, never for the public read


def test_a_json_or_form_body_is_read_by_its_media_type_after_the_media_type_is_checked(
    secured: tuple[ModuleType, Path],
) -> None:
    module, root = secured
    support = importlib.import_module(f"{root.name}.api._support")
    items = _Items(importlib.import_module(f"{root.name}.models"))
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(module.build_items_router(items, _Guard(support.Principal)))
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    with TestClient(app, raise_server_exceptions=False) as client:
        as_json = client.post("/items/renamed", json={"name": "widget"})
        as_form = client.post("/items/renamed", content=b"name=gadget", headers=form)
        # Refused for its media type before anything tries to read it as JSON.
        other = client.post("/items/renamed", content=b"name=gizmo", headers={"Content-Type": "text/plain"})
        twice = client.post("/items/renamed", content=b"name=a&name=b", headers=form)
        invalid = client.post("/items/renamed", content=b"name=", headers=form)

    assert (as_json.status_code, as_form.status_code) == (201, 201)
    assert (other.status_code, twice.status_code, invalid.status_code) == (415, 422, 422)
    assert [error["pointer"] for error in twice.json()["errors"]] == ["#/name"]
    assert items.created == [("widget", "anyone"), ("gadget", "anyone")]
