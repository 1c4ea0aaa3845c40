"""Every operation in the spec × every kind of caller an attacker can be, with the expected answer read from the spec.

Nothing here lists operations by hand: they, their `security`, `x-roles` and `x-self-only`, and their example bodies
all come from spec/openapi.yaml, so a new operation is covered (and has to pass) the day it is added. The rules:

* a public operation (`security: []`) never answers 401/403, whoever calls, and a well-formed call is a 2xx;
* a secured one answers 401 with `WWW-Authenticate` to no token or a bad one (expired, revoked, `alg: none`, a wrong
  key, HS256 signed with the RS256 public key, a `kid` that is a path or SQL);
* a role not in `x-roles` gets 403; a role in `x-self-only` on someone else's id gets 404; neither changes the target;
* an allowed caller with a well-formed request gets a 2xx;
* files (`{file_id}`) belong to their uploader: anyone else gets 404, as for a missing one, and the file stays.

Runs on both databases; one app per database for the whole module, accounts signed in once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from httpx2 import Response

from impl.app import create_app
from impl.auth.signing_keys import SigningKeys
from impl.auth.tokens import TokenService
from impl.platform.settings import PROJECT_ROOT, Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, fresh_database, sign_in, test_settings

SPEC: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = ("get", "head", "options", "post", "put", "patch", "delete")
USERS = "/api/v1/users"
FILES = "/api/v1/files"
MATRIX_FILE = b"A file of the access matrix.\n"
# Bounds that keep every call short without changing what it tests: the SSE stream ends after a second, the CPU demo
# counts primes to a thousand.
QUERY_OVERRIDES: dict[str, dict[str, Any]] = {"streamEvents": {"max_seconds": 1}}
BODY_OVERRIDES: dict[str, dict[str, Any]] = {"demoCpu": {"n": 1000}}
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
RS_KID = "rs256-matrix"

ROLE_IDENTITIES = {"user": "user", "other_user": "user", "moderator": "moderator", "admin": "admin"}
TOKEN_FAILURES = (
    "expired",
    "revoked",
    "tampered_alg_none",
    "tampered_wrong_key",
    "tampered_hs_rs_confusion",
    "tampered_bad_kid_path",
    "tampered_bad_kid_sql",
)
IDENTITIES = ("anonymous", *ROLE_IDENTITIES, *TOKEN_FAILURES)


@dataclass(frozen=True)
class SpecOperation:
    method: str
    path: str
    operation_id: str
    raw: dict[str, Any]
    roles: frozenset[str]
    self_only: frozenset[str]
    secured: bool

    @property
    def mutating(self) -> bool:
        return self.secured and self.method in ("post", "put", "patch", "delete")


def spec_operations() -> list[SpecOperation]:
    found = []
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                raw = item[method]
                requirements = raw.get("security", SPEC.get("security", []))
                found.append(
                    SpecOperation(
                        method=method,
                        path=path,
                        operation_id=raw["operationId"],
                        raw=raw,
                        roles=frozenset(raw.get("x-roles", ())),
                        self_only=frozenset(raw.get("x-self-only", ())),
                        secured=any(requirements),
                    )
                )
    return found


OPERATIONS = spec_operations()


def resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def unique_email() -> str:
    return f"matrix-{uuid.uuid4().hex[:12]}@example.com"


@dataclass
class Account:
    id: str
    email: str
    password: str
    token: str


@dataclass
class Stage:
    """One running app and what its tests need: the admin's token and the accounts made at start."""

    client: TestClient
    admin: str
    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def create(self, *, role: str = "user", password: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"email": unique_email(), "name": "Matrix Person", "role": role}
        if password is not None:
            body["password"] = password
        response = self.client.post(USERS, json=body, headers=bearer(self.admin))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def account(self, role: str) -> Account:
        user = self.create(role=role, password=PASSWORD)
        token = sign_in(self.client, user["email"], PASSWORD)
        return Account(id=user["id"], email=user["email"], password=PASSWORD, token=token)

    def read(self, user_id: str) -> Response:
        return self.client.get(f"{USERS}/{user_id}", headers=bearer(self.admin))

    def upload(self, token: str) -> str:
        files = {"file": ("matrix.txt", MATRIX_FILE, "text/plain")}
        response = self.client.post(FILES, files=files, headers=bearer(token))
        assert response.status_code == 201, response.text
        file_id: str = response.json()["id"]
        return file_id


def _claims(subject: str, role: str = "user") -> dict[str, Any]:
    settings = Settings(app_env="test")
    now = int(time.time())
    return {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "sid": uuid.uuid4().hex,
        "token_use": "access",
        "role": role,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs_with_public_key(payload: dict[str, Any], public_pem: bytes) -> str:
    """HS256 keyed with the RS256 public key: PyJWT refuses to make one, so it is built by hand, as attackers do."""
    header = {"alg": "HS256", "kid": RS_KID, "typ": "at+jwt"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def forged_tokens(stage: Stage, *, subject: str, public_pem: bytes) -> dict[str, str]:
    settings = Settings(app_env="test")
    secret = settings.secret_key.get_secret_value()
    past = TokenService(
        keys=SigningKeys.symmetric(secret=secret),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=lambda: time.time() - 7200,
    )
    expired, _ = past.issue(token_type="access", subject=subject, family_id=uuid.uuid4().hex, role="user")
    revoked = sign_in(stage.client, stage.accounts["user"].email, PASSWORD)
    assert stage.client.post("/api/v1/auth/logout", headers=bearer(revoked)).status_code == 204
    typ = {"typ": "at+jwt"}
    return {
        "expired": expired,
        "revoked": revoked,
        "tampered_alg_none": jwt.encode(_claims(subject), "", algorithm="none", headers={"kid": "hs256-1", **typ}),
        "tampered_wrong_key": jwt.encode(
            _claims(subject), "another secret, not the service's", algorithm="HS256", headers={"kid": "hs256-1", **typ}
        ),
        "tampered_hs_rs_confusion": hs_with_public_key(_claims(subject), public_pem),
        "tampered_bad_kid_path": jwt.encode(
            _claims(subject), secret, algorithm="HS256", headers={"kid": "../x", **typ}
        ),
        "tampered_bad_kid_sql": jwt.encode(
            _claims(subject), secret, algorithm="HS256", headers={"kid": "' OR 1=1--", **typ}
        ),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``database_url``, once per module: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('matrix') / 'charter.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url"), prefix="charter_matrix") as url:
        yield url


@dataclass
class Stages:
    hs: Stage
    rs: Stage


def _rs_keys(directory: Path) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (directory / f"{RS_KID}.pem").write_bytes(pem)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture(scope="module")
def stages(matrix_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stages]:
    """The HS256 app everyone but the HS/RS-confusion case talks to, and an RS256 app on the same database."""
    root = tmp_path_factory.mktemp("stages")
    keys_dir = root / "keys"
    keys_dir.mkdir()
    public_pem = _rs_keys(keys_dir)
    hs_app = create_app(test_settings(root / "hs", database_url=matrix_database_url))
    rs_app = create_app(
        test_settings(root / "rs", database_url=matrix_database_url, jwt_algorithm="RS256", jwt_keys_dir=keys_dir)
    )
    with (
        TestClient(hs_app, raise_server_exceptions=False) as hs_client,
        TestClient(rs_app, raise_server_exceptions=False) as rs_client,
    ):
        hs = Stage(client=hs_client, admin=sign_in(hs_client))
        rs = Stage(client=rs_client, admin=sign_in(rs_client))
        for name, role in ROLE_IDENTITIES.items():
            hs.accounts[name] = (
                Account(id=_me(hs_client, hs.admin), email=ADMIN_EMAIL, password=ADMIN_PASSWORD, token=hs.admin)
                if name == "admin"
                else hs.account(role)
            )
        rs.accounts = hs.accounts  # the same database: the same people, signed in at the other app when needed
        hs.tokens = forged_tokens(hs, subject=hs.accounts["user"].id, public_pem=public_pem)
        yield Stages(hs=hs, rs=rs)


def _me(client: TestClient, token: str) -> str:
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    user_id: str = response.json()["id"]
    return user_id


@dataclass
class Call:
    """Who calls and on which user: the caller's token (None: anonymous) and id, the target id."""

    token: str | None
    caller_id: str | None
    password: str
    target: str
    file: tuple[str, str] | None = None  # for `{file_id}` operations: the file's id and its owner's token


def owned_file(hs: Stage, operation: SpecOperation, owner: Account) -> tuple[str, str] | None:
    return (hs.upload(owner.token), owner.token) if "{file_id}" in operation.path else None


def caller(stage: Stage, hs: Stage, operation: SpecOperation, identity: str) -> Call:
    """Fresh accounts for calls that would spoil a shared one (logout, password change, deactivation...)."""
    target = hs.create()["id"] if operation.mutating else hs.accounts["user"].id
    if identity == "anonymous":
        return Call(None, None, PASSWORD, target, owned_file(hs, operation, hs.accounts["user"]))
    if identity in TOKEN_FAILURES:
        return Call(hs.tokens[identity], None, PASSWORD, target, owned_file(hs, operation, hs.accounts["user"]))
    account = hs.account(ROLE_IDENTITIES[identity]) if operation.mutating else hs.accounts[identity]
    # Another user's file for `other_user`; the caller's own for everyone else.
    file = owned_file(hs, operation, hs.accounts["user"] if identity == "other_user" else account)
    if identity == "other_user" and not operation.mutating:
        target = hs.accounts["moderator"].id  # someone else, never the caller
    if identity == "user":
        target = account.id
    return Call(account.token, account.id, account.password, target, file)


def request_body(stage: Stage, operation: SpecOperation, call: Call) -> tuple[str, Any] | None:
    """The operation's first example body, made valid for this call: unique emails, real credentials and tokens."""
    raw = resolve(operation.raw.get("requestBody"))
    if not raw:
        return None
    media_type, content = next(iter(raw["content"].items()))
    if media_type == "multipart/form-data":
        return media_type, {"file": ("matrix.txt", MATRIX_FILE, "text/plain")}
    example = resolve(next(iter(content["examples"].values())))
    body = {**example["value"], **BODY_OVERRIDES.get(operation.operation_id, {})}
    login = stage.accounts["moderator"]
    if "email" in body:
        body["email"] = login.email if operation.operation_id == "login" else unique_email()
        if "{user_id}" in operation.path and call.target == call.caller_id:
            # One's own email changes only through /auth/me (with the password): here a caller keeps theirs.
            body["email"] = stage.read(call.target).json()["email"]
    if "username" in body:
        body["username"] = login.email
    if operation.operation_id in ("login", "issueToken"):
        body["password"] = login.password
    if "current_password" in body:
        body["current_password"] = call.password
    if "refresh_token" in body:
        signed_in = stage.client.post("/api/v1/auth/login", json={"email": login.email, "password": login.password})
        body["refresh_token"] = signed_in.json()["refresh_token"]
    return media_type, body


def send(stage: Stage, operation: SpecOperation, call: Call) -> Response:
    headers = bearer(call.token) if call.token is not None else {}
    for parameter in (resolve(p) for p in operation.raw.get("parameters", [])):
        if parameter["name"] == "Idempotency-Key":
            headers["Idempotency-Key"] = str(uuid.uuid4())
    url = operation.path.replace("{user_id}", call.target)
    if call.file is not None:
        url = url.replace("{file_id}", call.file[0])
    params = QUERY_OVERRIDES.get(operation.operation_id)
    body = request_body(stage, operation, call)
    if body is None:
        return stage.client.request(operation.method.upper(), url, headers=headers, params=params)
    media_type, value = body
    if media_type == "application/x-www-form-urlencoded":
        return stage.client.request(operation.method.upper(), url, headers=headers, data=value)
    if media_type == "multipart/form-data":
        return stage.client.request(operation.method.upper(), url, headers=headers, files=value)
    headers["Content-Type"] = media_type
    return stage.client.request(operation.method.upper(), url, headers=headers, content=json.dumps(value))


CASES = [
    pytest.param(operation, identity, id=f"{operation.operation_id}-{identity}")
    for operation in OPERATIONS
    for identity in IDENTITIES
]


@pytest.mark.parametrize(("operation", "identity"), CASES)
def test_the_answer_is_the_one_the_spec_promises(stages: Stages, operation: SpecOperation, identity: str) -> None:
    stage = stages.rs if identity == "tampered_hs_rs_confusion" else stages.hs
    call = caller(stage, stages.hs, operation, identity)
    before = stages.hs.read(call.target).json()
    response = send(stage, operation, call)
    status, where = response.status_code, f"{operation.method.upper()} {operation.path} as {identity}"

    if not operation.secured:
        assert 200 <= status < 300, f"{where}: a public operation answered {status}: {response.text}"
        return
    role = ROLE_IDENTITIES.get(identity)
    if role is None:
        assert status == 401, f"{where}: {status} {response.text}"
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), where
        expected_changed = False
    elif role not in operation.roles:
        assert status == 403, f"{where}: {status} {response.text}"
        expected_changed = False
    elif role in operation.self_only and call.target != call.caller_id:
        assert status == 404, f"{where}: {status} {response.text}"
        expected_changed = False
    elif identity == "other_user" and call.file is not None:
        assert status == 404, f"{where}: someone else's file answered {status}: {response.text}"
        expected_changed = False
    else:
        assert 200 <= status < 300, f"{where}: an allowed call answered {status}: {response.text}"
        expected_changed = True
    if not expected_changed:
        assert stages.hs.read(call.target).json() == before, f"{where}: the target changed"
        if call.file is not None:
            file_id, owner_token = call.file
            kept = stages.hs.client.get(f"{FILES}/{file_id}", headers=bearer(owner_token))
            assert kept.status_code == 200, f"{where}: the file is gone after a refused call"
