"""API5:2023 Broken Function Level Authorization — deny by default, roles declared per operation, checked first.

tests/test_access_matrix.py proves every operation × every caller; this module proves the rules that make the
matrix complete: every secured operation declares its roles, the generator refuses one that does not, and the
admin-only operations refuse everyone else before looking at the request.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from impl.platform.settings import PROJECT_ROOT
from scripts.generate_api import SpecError, SpecReader
from tests.owasp.conftest import make_account

SPEC: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = ("get", "head", "options", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, item[method]) for path, item in SPEC["paths"].items() for method in METHODS if method in item
    ]


def test_every_secured_operation_declares_its_roles() -> None:
    for method, path, operation in _operations():
        if any(operation.get("security", SPEC["security"])):
            assert operation.get("x-roles"), f"{method.upper()} {path} has no x-roles"


def test_the_root_security_secures_every_operation_that_does_not_opt_out() -> None:
    assert any(SPEC["security"]), "deny by default needs a root `security` requirement"


def test_the_generator_refuses_a_secured_operation_without_roles() -> None:
    spec = copy.deepcopy(SPEC)
    del spec["paths"]["/api/v1/users/{user_id}"]["delete"]["x-roles"]

    with pytest.raises(SpecError, match="x-roles"):
        SpecReader(spec).operations()


def test_the_generator_refuses_roles_on_a_public_operation() -> None:
    spec = copy.deepcopy(SPEC)
    spec["paths"]["/health"]["get"]["x-roles"] = ["admin"]

    with pytest.raises(SpecError, match="x-roles"):
        SpecReader(spec).operations()


def test_the_spec_as_it_is_generates() -> None:
    assert SpecReader(copy.deepcopy(SPEC)).operations()


ADMIN_ONLY = [
    pytest.param(method, path, id=operation["operationId"])
    for method, path, operation in _operations()
    if operation.get("x-roles") == ["admin"]
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_admin_only_operations_refuse_anonymous_and_users_before_reading_the_request(
    api: TestClient, admin_token: str, method: str, path: str
) -> None:
    url = path.replace("{user_id}", str(uuid.uuid4()))
    user = make_account(api, admin_token)

    anonymous = api.request(method.upper(), url)
    as_user = api.request(method.upper(), url, headers=user.headers)

    # No body was sent: a 422 here would mean validation ran before the access check.
    assert anonymous.status_code == 401
    assert as_user.status_code == 403
