"""Schemathesis hooks, loaded by schemathesis.toml for both fuzz runs (pytest in-process and `make fuzz`).

Authentication. Schemathesis obtains its own tokens: the auth providers below sign in through the service's real
``POST /api/v1/auth/login`` (over HTTP for `make fuzz`, in-process through the same ASGI app for pytest). Every
operation that declares ``security`` gets a valid bearer token, so ``ignored_auth`` can prove that the same request
without, or with a broken, token is refused. Reactive re-login on 401 is off (``retry_on=[]``): a 401 for a valid
token is a bug the run must show, not hide by signing in again.

Which identity calls what, so the fuzzer cannot destroy its own credentials and turn the rest of the run into 401s:
- the admin (``CHARTER_FUZZ_EMAIL`` / ``CHARTER_FUZZ_PASSWORD``, bootstrapped by the service at start-up; pytest
  falls back to tests.conftest's admin) calls every secured operation except the three below. Admin may call every
  operation, so each can reach a 2xx.
- ``logout`` revokes the token it is called with: it gets a freshly signed-in admin token per case.
- ``updateMe`` and ``changePassword`` act on the caller's own account: each gets its own throw-away ordinary user,
  created by the hooks through ``createUser`` (outside the recorded run), so the admin's email and password never
  change, and a rename by ``updateMe`` cannot make ``changePassword``'s password contain the account's name.
- ``replaceUser`` / ``updateUser`` / ``deleteUser`` aimed at one of those accounts (the fuzzer learns their ids from
  ``getMe``, ``listUsers`` and stateful links) are redirected to a fresh throw-away user, so the fuzzer cannot change
  the admin's email, demote or deactivate it once it has created a second admin, or delete a member the run uses.
  The last-admin rule (409) is specified and tested in tests/impl/users/, not here.

Reach. A fuzzer never guesses a real password, refresh token or ETag, so ``login``, ``issueToken``, ``refreshTokens``
and ``changePassword`` would only ever answer 401/403, and conditional user writes (``If-Match``) mostly 412. For
every third *positive* case of those operations the hooks put real values in (the admin's credentials, a fresh
refresh token, the member's current password as both current and new password: a valid change that keeps it, the
target user's current ETag read just before). Every other case, and every negative one, is sent exactly as
generated, so wrong credentials, stale ETags and malformed requests are still checked. (Spec `links` from login's 200 to
refreshTokens, `$response.body#/refresh_token`, would let the stateful phase do the refresh part itself.)

Idempotency-Key. The key means "this is the same request as before": the service must answer a reused key with a
*different* body 422 (IETF draft, tested in tests/impl/users/). A fuzzer cannot know that, and draws the same few
keys for many different bodies. So every schema-valid key it generates is made unique; invalid ones (too short, bad
characters) are left as they are, so the fuzzer still checks that those are refused.

Files. A fuzzer's random bytes are rarely an accepted file type (the service judges content, not names: 415), and
random file ids are never the caller's (404). Every Nth positive upload sends a small UTF-8 text file instead, and
every Nth positive case of an id-bound file operation targets a file the admin uploaded just before; the rest go as
generated.

Cursors are opaque: a schema-valid string of the cursor alphabet is almost never one the service issued (422), so
every other positive listFiles case with a cursor gets a real one (or none, when the admin has a single page);
the rest go as generated.

Time bounds. The SSE stream runs until the token expires unless `max_seconds` ends it: every case whose
`max_seconds` is absent or valid gets 1 s, so a case costs a second, not the request timeout. The demo endpoints
keep their real behaviour with small inputs (`delay_ms` <= 5, `n` <= 2000): the fuzzer checks the contract, the
load tests and tests/impl/demo/ measure the pools.

State. Schemathesis registers hooks as module functions and instantiates auth providers itself, so the accounts and
counters shared by both live in one registry here, keyed by the service under test (the ASGI app or base URL) and
created on first use, not at import.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import schemathesis
from schemathesis.python import asgi

_VALID_KEY = re.compile(r"[A-Za-z0-9_.:-]{8,255}")
# Every Nth positive case of an operation that needs a secret the fuzzer cannot guess gets the real one.
_EVERY_NTH = 3
# Cached tokens are renewed well within the access token's lifetime (15 min by default); never on a 401.
_TOKEN_REFRESH_SECONDS = 300
# Operations that must not run with the shared admin token (see the module docstring).
_OWN_IDENTITY = ["logout", "updateMe", "changePassword"]
_USER_WRITES = frozenset({"replaceUser", "updateUser", "deleteUser"})
_FILE_OPERATIONS = frozenset({"getFileMetadata", "downloadFile", "deleteFile"})
_FUZZ_FILE = b"A small text file the fuzz hooks upload.\n"


class _Account:
    # Plain classes, not dataclasses: Schemathesis loads this file by path without registering it in sys.modules,
    # which dataclasses need to resolve postponed annotations.
    def __init__(self, *, email: str, password: str) -> None:
        self.email, self.password = email, password
        self.id: uuid.UUID | None = None


class _Service:
    """The service under test, reached the way the fuzzer reaches it: in-process ASGI app or HTTP base URL."""

    def __init__(self, *, app: Any, base_url: str) -> None:
        self._app = app
        self._base_url = base_url.rstrip("/")
        self._http = requests.Session() if app is None else None

    @contextmanager
    def _client(self) -> Iterator[requests.Session]:
        if self._http is not None:
            yield self._http
            return
        # Schemathesis' own ASGI client: the same event loop and (already started) lifespan the fuzzer uses.
        with asgi.get_client(self._app) as client:
            yield client

    def request(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = path if self._http is None else f"{self._base_url}{path}"
        with self._client() as client:
            return client.request(method, url, headers=headers, timeout=10, **kwargs)


def _expect(response: requests.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(f"fuzz hooks: {what} answered {response.status_code}: {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


class _Run:
    """The accounts and counters of one fuzz run against one service."""

    def __init__(self, *, service: _Service, admin: _Account) -> None:
        self.service, self.admin = service, admin
        self._members: dict[str, _Account] = {}
        self._turns: dict[str, int] = {}
        self._lock = threading.Lock()

    def sign_in(self, account: _Account) -> dict[str, Any]:
        response = self.service.request(
            "POST", "/api/v1/auth/login", json={"email": account.email, "password": account.password}
        )
        return _expect(response, 200, f"signing in as {account.email}")

    def access_token(self, account: _Account) -> str:
        pair = self.sign_in(account)
        if account.id is None:
            me = _expect(self.service.request("GET", "/api/v1/auth/me", token=pair["access_token"]), 200, "getMe")
            account.id = uuid.UUID(me["id"])
        return str(pair["access_token"])

    def new_user(self, purpose: str) -> _Account:
        """A fresh ordinary user, created by the admin; its password passes the rules (random, long)."""
        email = f"fuzz-{purpose}-{uuid.uuid4().hex[:12]}@example.com"
        account = _Account(email=email, password=secrets.token_urlsafe(24))
        body = {"email": account.email, "name": f"Fuzz {purpose}", "role": "user", "password": account.password}
        created = _expect(
            self.service.request("POST", "/api/v1/users", token=self.access_token(self.admin), json=body),
            201,
            f"creating the {purpose} user",
        )
        account.id = uuid.UUID(created["id"])
        return account

    def member(self, purpose: str) -> _Account:
        with self._lock:
            if purpose not in self._members:
                self._members[purpose] = self.new_user(purpose)
            return self._members[purpose]

    def protected_ids(self) -> set[uuid.UUID]:
        return {account.id for account in (self.admin, *self._members.values()) if account.id is not None}

    def upload(self) -> str:
        """A file the admin owns, uploaded now (deleteFile may have removed an earlier one)."""
        response = self.service.request(
            "POST",
            "/api/v1/files",
            token=self.access_token(self.admin),
            files={"file": ("fuzz.txt", _FUZZ_FILE, "text/plain")},
        )
        return str(_expect(response, 201, "uploading the fuzz file")["id"])

    def next_cursor(self) -> str | None:
        """A cursor the service issued for the admin's files (None when they fit on one page)."""
        response = self.service.request("GET", "/api/v1/files?limit=1", token=self.access_token(self.admin))
        following = _expect(response, 200, "listing the fuzz files")["next"]
        return parse_qs(urlsplit(str(following)).query)["cursor"][0] if following is not None else None

    def takes_turn(self, operation_id: str, every: int = _EVERY_NTH) -> bool:
        """True for the 1st, (N+1)th, (2N+1)th... call of this operation: deterministic, independent of timing."""
        with self._lock:
            count = self._turns.get(operation_id, 0)
            self._turns[operation_id] = count + 1
        return count % every == 0


_RUNS: dict[object, _Run] = {}
_RUNS_LOCK = threading.Lock()


def _admin_account() -> _Account:
    email, password = os.environ.get("CHARTER_FUZZ_EMAIL"), os.environ.get("CHARTER_FUZZ_PASSWORD")
    if email and password:
        return _Account(email=email, password=password)
    # The in-process run (tests/test_contract_fuzz.py) builds its app with tests.conftest.test_settings.
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    return _Account(email=ADMIN_EMAIL, password=ADMIN_PASSWORD)


def _run_for(operation: Any) -> _Run:
    app = operation.app
    base_url = operation.base_url or operation.schema.get_base_url()
    key: object = id(app) if app is not None else base_url
    with _RUNS_LOCK:
        if key not in _RUNS:
            _RUNS[key] = _Run(service=_Service(app=app, base_url=base_url), admin=_admin_account())
        return _RUNS[key]


def _operation_id(operation: Any) -> str:
    return str(operation.definition.raw.get("operationId", ""))


def _declares_security(ctx: Any) -> bool:
    operation = ctx.operation
    security = operation.definition.raw.get("security", operation.schema.raw_schema.get("security", []))
    return bool(security)


def _bearer(case: Any, token: str) -> None:
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


@(
    schemathesis.auth(refresh_interval=_TOKEN_REFRESH_SECONDS, retry_on=[])
    .apply_to(_declares_security)
    .skip_for(operation_id=_OWN_IDENTITY)
)
class AdminAuth:
    """The admin's access token, for every secured operation but those in ``_OWN_IDENTITY``."""

    def get(self, case: Any, context: Any) -> str:
        run = _run_for(context.operation)
        return run.access_token(run.admin)

    def set(self, case: Any, data: str, context: Any) -> None:
        _bearer(case, data)


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(operation_id="logout")
class LogoutAuth:
    """A token signed in for this one case: logout revokes it, and no other case uses it."""

    def get(self, case: Any, context: Any) -> str:
        run = _run_for(context.operation)
        return run.access_token(run.admin)

    def set(self, case: Any, data: str, context: Any) -> None:
        _bearer(case, data)


@schemathesis.auth(refresh_interval=_TOKEN_REFRESH_SECONDS, retry_on=[]).apply_to(operation_id="updateMe")
class ProfileMemberAuth:
    """A throw-away user's token for updateMe: whatever the fuzzer makes of that profile, the admin is unchanged."""

    def get(self, case: Any, context: Any) -> str:
        run = _run_for(context.operation)
        return run.access_token(run.member("profile"))

    def set(self, case: Any, data: str, context: Any) -> None:
        _bearer(case, data)


@schemathesis.auth(refresh_interval=_TOKEN_REFRESH_SECONDS, retry_on=[]).apply_to(operation_id="changePassword")
class PasswordMemberAuth:
    """Another throw-away user's token for changePassword, whose name and email nothing else changes."""

    def get(self, case: Any, context: Any) -> str:
        run = _run_for(context.operation)
        return run.access_token(run.member("password"))

    def set(self, case: Any, data: str, context: Any) -> None:
        _bearer(case, data)


def _is_positive(case: Any) -> bool:
    """Generated to fit the schema in every part, so replacing body values with other valid ones keeps it so."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return False
    return not any(component.mode.is_negative for component in meta.components.values())


def _substitute_secrets(run: _Run, operation_id: str, case: Any) -> None:
    if not isinstance(case.body, dict) or not _is_positive(case) or not run.takes_turn(operation_id):
        return
    admin = run.admin
    if operation_id == "login":
        case.body = {"email": admin.email, "password": admin.password}
    elif operation_id == "issueToken":
        case.body = {**case.body, "grant_type": "password", "username": admin.email, "password": admin.password}
    elif operation_id == "refreshTokens":
        case.body = {"refresh_token": run.sign_in(admin)["refresh_token"]}
    elif operation_id == "changePassword":
        member = run.member("password")
        case.body = {"current_password": member.password, "new_password": member.password}


def _target(case: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str((case.path_parameters or {}).get("user_id")))
    except ValueError:
        return None


def _in_examples_phase(case: Any) -> bool:
    meta = case.meta
    return meta is not None and str(getattr(meta.phase.name, "value", meta.phase.name)) == "examples"


def _redirect_from_protected(run: _Run, operation_id: str, case: Any) -> None:
    """Never at the fuzz's own accounts (they must stay usable); and the merge patch's examples, whose ids name no
    one here, at a real user, so each is really applied: it has ten (two media types), and as 404s they would be
    an operation whose examples test nothing. PUT's and DELETE's examples are few and stay 404s, as before."""
    target = _target(case)
    if target is None:
        return
    example = operation_id == "updateUser" and _in_examples_phase(case) and _is_positive(case)
    if target in run.protected_ids() or example:
        case.path_parameters["user_id"] = str(run.new_user("target").id)


def _fresh_email(operation_id: str, case: Any) -> None:
    """A positive replacement gets an email nobody has. Schemathesis draws values it has seen in answers (its data
    pool), so generated emails are mostly the examples' or the fuzz accounts' own: each one a 409 (taken), and the
    replacement itself never applied. The taken-email 409 has its own tests (tests/impl/users/)."""
    body = case.body
    if operation_id == "replaceUser" and isinstance(body, dict) and "email" in body and _is_positive(case):
        case.body = {**body, "email": f"fuzz-put-{uuid.uuid4().hex[:12]}@example.com"}


def _current_etag(run: _Run, operation_id: str, case: Any) -> None:
    """Every Nth positive conditional write gets the target's real ETag; the others keep the generated one (412)."""
    headers = case.headers or {}
    target = _target(case)
    if target is None or "If-Match" not in headers or not _is_positive(case):
        return
    # An example is applied as written (its If-Match too, on the real user it was pointed at); generated cases get
    # the real ETag every Nth time and keep the generated one otherwise (412).
    if not (operation_id == "updateUser" and _in_examples_phase(case)) and not run.takes_turn(operation_id):
        return
    response = run.service.request("GET", f"/api/v1/users/{target}", token=run.access_token(run.admin))
    if response.status_code == 200 and response.headers.get("ETag"):
        headers["If-Match"] = response.headers["ETag"]


def _real_file(run: _Run, operation_id: str, case: Any) -> None:
    if operation_id == "uploadFile":
        if isinstance(case.body, dict) and _is_positive(case) and run.takes_turn(operation_id):
            case.body = {**case.body, "file": _FUZZ_FILE}
    elif case.path_parameters and _is_positive(case) and run.takes_turn(operation_id):
        case.path_parameters["file_id"] = run.upload()


def _real_cursor(run: _Run, case: Any) -> None:
    query = case.query if isinstance(case.query, dict) else {}
    if "cursor" not in query or not _is_positive(case) or not run.takes_turn("listFiles", every=2):
        return
    cursor = run.next_cursor()
    if cursor is None:
        del query["cursor"]
    else:
        query["cursor"] = cursor


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Runs just before each request is sent, so substituted secrets are fresh (refresh tokens are single-use)."""
    operation_id = _operation_id(case.operation)
    if operation_id in {"login", "issueToken", "refreshTokens", "changePassword"}:
        _substitute_secrets(_run_for(case.operation), operation_id, case)
    elif operation_id == "uploadFile" or operation_id in _FILE_OPERATIONS:
        _real_file(_run_for(case.operation), operation_id, case)
    elif operation_id == "listFiles":
        _real_cursor(_run_for(case.operation), case)
    elif operation_id in _USER_WRITES:
        run = _run_for(case.operation)
        _redirect_from_protected(run, operation_id, case)
        _fresh_email(operation_id, case)
        _current_etag(run, operation_id, case)


def _bounded(value: Any, *, low: int, high: int) -> bool:
    """An integer the schema accepts (bool is not one), so lowering it keeps the case what it was."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _bound_time(operation_id: str, case: Any) -> None:
    query = case.query if isinstance(case.query, dict) else None
    if operation_id == "streamEvents":
        if case.query is None:
            case.query = query = {}
        if query is not None and ("max_seconds" not in query or _bounded(query["max_seconds"], low=1, high=3600)):
            query["max_seconds"] = 1
    elif operation_id in {"demoAsync", "demoBlocking"} and query is not None:
        if _bounded(query.get("delay_ms"), low=0, high=2000):
            query["delay_ms"] = min(query["delay_ms"], 5)
    elif operation_id == "demoCpu" and isinstance(case.body, dict):
        work = case.body
        if _bounded(work.get("n"), low=1, high=1_000_000):
            work["n"] = min(work["n"], 2000)


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and _VALID_KEY.fullmatch(key):
        headers["Idempotency-Key"] = f"{key[:200]}-{uuid.uuid4().hex}"
    _bound_time(_operation_id(case.operation), case)
    return case
