"""Delete what the run created, after the users stopped: leftover files (as their owners), then the run's users.

Uses its own small HTTP client rather than Locust's, so set-up and clean-up never show up in the statistics the
SLOs are judged by. Files go first: only their owner may delete them, and the owner is gone once deleted. Users
are found by the run id in their email (listUsers `q`), so accounts a journey created but could not finish with
are deleted too. Rate-limited answers (a remote target with limits on) are retried after their Retry-After when
that is short; a longer one (e.g. the `auth` policy's minutes) is not waited out: what is left is reported.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from load.run_state import Credentials, RunState

log = logging.getLogger("charter.load")
ATTEMPTS = 5
MAX_RETRY_WAIT_SECONDS = 10.0  # longer Retry-Afters are not waited out: cleanup must not hold the run for minutes


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


class ApiClient:
    """A minimal JSON client for one service (urllib: cooperative under Locust's gevent patching)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"the target must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(self, method: str, path: str, *, token: str | None = None, body: Any = None) -> Answer:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for attempt in range(ATTEMPTS):
            # The scheme is checked in __init__ (http or https only).
            url = self.base_url + path
            request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                    return Answer(response.status, _json(response.read()))
            except urllib.error.HTTPError as error:
                wait = _retry_after(error.headers.get("Retry-After"))
                if error.code == 429 and attempt < ATTEMPTS - 1 and wait <= MAX_RETRY_WAIT_SECONDS:
                    time.sleep(wait)
                    continue
                return Answer(error.code, _json(error.read()))
        raise AssertionError("unreachable: the last attempt returns")  # pragma: no cover

    def sign_in(self, credentials: Credentials) -> str | None:
        answer = self.request(
            "POST", "/api/v1/auth/login", body={"email": credentials.email, "password": credentials.password}
        )
        return str(answer.body["access_token"]) if answer.status == 200 else None


def _retry_after(value: str | None) -> float:
    try:
        return max(float(value), 0.0) if value else 1.0
    except ValueError:  # an HTTP date: not worth parsing for a best-effort cleanup
        return MAX_RETRY_WAIT_SECONDS + 1


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def delete_files(client: ApiClient, files: dict[str, Credentials]) -> int:
    """Delete each leftover file as its owner; the number deleted."""
    deleted = 0
    tokens: dict[Credentials, str | None] = {}
    for file_id, owner in list(files.items()):
        if owner not in tokens:
            tokens[owner] = client.sign_in(owner)
        token = tokens[owner]
        if token and client.request("DELETE", f"/api/v1/files/{file_id}", token=token).status in (204, 404):
            files.pop(file_id)
            deleted += 1
    return deleted


def run_user_ids(client: ApiClient, token: str, run_id: str) -> list[str]:
    """The ids of every user whose email or name holds the run id, through all pages."""
    ids: list[str] = []
    path: str | None = "/api/v1/users?" + urllib.parse.urlencode({"q": run_id, "limit": 100})
    while path:
        answer = client.request("GET", path, token=token)
        if answer.status != 200:
            log.warning("cleanup: listUsers answered %s; some users may be left", answer.status)
            break
        ids += [str(user["id"]) for user in answer.body["items"] if run_id in user["email"]]
        following = answer.body.get("next")
        path = urllib.parse.urlsplit(following)._replace(scheme="", netloc="").geturl() if following else None
    return ids


@dataclass(frozen=True)
class Cleaned:
    files_deleted: int
    files_left: int
    users_deleted: int
    users_left: int  # -1: unknown (the admin could not sign in to look)


def clean_up(base_url: str, state: RunState) -> Cleaned:
    """Delete this run's leftover files and users; what was deleted and what is left."""
    client = ApiClient(base_url)
    files = delete_files(client, state.files)
    if state.admin is None:
        return Cleaned(files, len(state.files), 0, -1)
    token = client.sign_in(state.admin)
    if token is None:
        log.warning("cleanup: the admin could not sign in; the run's users are left")
        return Cleaned(files, len(state.files), 0, -1)
    ids = run_user_ids(client, token, state.run_id)
    deleted = sum(client.request("DELETE", f"/api/v1/users/{i}", token=token).status in (204, 404) for i in ids)
    return Cleaned(files, len(state.files), deleted, len(ids) - deleted)
