"""A small memory of access tokens this process has already verified, so a client's next request skips the crypto.

Verifying a JWT (parsing, base64, the RS256 signature) is about a quarter of an authenticated read's cost (measured
with py-spy under `make bench`). A client sends the same access token with every request for its 15 minutes, so
the verified claims are kept, keyed by the whole token string: a token that differs in any byte (a tampered
signature included) is a different key and is verified in full. Only successes are kept, so invalid tokens cost
what they always did and cannot fill the memory. Each hit re-checks the time claims against the service's clock
exactly as a full verification does (an expired token is refused and forgotten), and revocation is not cached:
the guard asks the blacklist on every request, after this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

C = TypeVar("C")

# Bounded: enough for the clients of one worker in a token lifetime; the oldest entry goes first beyond it.
MAX_ENTRIES = 1024


@dataclass(frozen=True, slots=True)
class TimeClaims:
    """The claims a hit re-checks: ``exp``, ``nbf`` and ``iat`` as whole seconds."""

    expires_at: int
    not_before: int
    issued_at: int


class VerifiedTokens(Generic[C]):
    """token -> (claims, time claims), oldest first; only the event loop uses it."""

    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: dict[str, tuple[C, TimeClaims]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> tuple[C, TimeClaims] | None:
        return self._entries.get(token)

    def put(self, token: str, claims: C, times: TimeClaims) -> None:
        if token not in self._entries and len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]  # dicts keep insertion order: the oldest
        self._entries[token] = (claims, times)

    def forget(self, token: str) -> None:
        self._entries.pop(token, None)
