"""Password hashing: Argon2id via argon2-cffi, run in worker threads so the event loop never blocks.

The threads are the hasher's own small pool, not asyncio's default executor: each hash takes tens of MiB and all
lanes of a core for a few hundred ms, so a burst of sign-ins on the shared executor left no thread (and no CPU) for
the readiness checks and file I/O that also use it: under load `/readyz` timed out and answered 503. A bounded pool
queues hashes instead (default: half the cores, at least one).

The default parameters are argon2-cffi's default profile, RFC 9106's "low memory" choice (m=64 MiB, t=3, p=4),
which is above OWASP's Argon2id floor (m=19 MiB, t=2, p=1). Weaker parameters can be passed, but only tests do,
to prove that :meth:`PasswordHasher.needs_rehash` upgrades old hashes.

Callers normalise the password first (:func:`impl.auth.password_policy.normalise`, NFKC) for both hashing and
verifying, so the same passphrase typed on two keyboards gives the same bytes.

No user enumeration by timing: ``verify(password_hash=None, ...)`` (unknown account) still runs one full Argon2id
verification, against a dummy hash with the same parameters, and then answers False.
"""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError

_T = TypeVar("_T")


def default_concurrency() -> int:
    """Half the CPUs this process may use, at least one: hashing never takes every core from the event loop."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


class PasswordHasher:
    """Hashes and verifies passwords with Argon2id; one instance is built by the app factory and shared."""

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        default = argon2.PasswordHasher()  # the library's default profile (RFC 9106 low memory)
        self._hasher = argon2.PasswordHasher(
            time_cost=default.time_cost if time_cost is None else time_cost,
            memory_cost=default.memory_cost if memory_cost is None else memory_cost,
            parallelism=default.parallelism if parallelism is None else parallelism,
            hash_len=default.hash_len,
            salt_len=default.salt_len,
            type=argon2.Type.ID,
        )
        # Computed on first use, inside a worker thread, so neither construction nor the event loop pays for it.
        # A threading lock (not an asyncio one) because the computation runs in threads and an instance may
        # outlive one event loop (tests run several).
        self._dummy_hash: str | None = None
        self._dummy_lock = threading.Lock()
        # Threads start on first use and end with the process; the pool is not tied to an event loop.
        self._pool = ThreadPoolExecutor(
            max_workers=default_concurrency() if concurrency is None else concurrency, thread_name_prefix="argon2"
        )

    async def _in_pool(self, function: Callable[..., _T], *args: str) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(function, *args))

    async def hash(self, password: str) -> str:
        """The PHC string ``$argon2id$v=19$m=...,t=...,p=...$salt$hash`` with a fresh random salt."""
        return await self._in_pool(self._hasher.hash, password)

    async def verify(self, *, password_hash: str | None, password: str) -> bool:
        """True only when ``password`` matches; False on mismatch, a corrupt hash, or no hash (unknown account)."""
        if password_hash is None:
            await self._in_pool(self._verify_against_dummy, password)
            return False
        return await self._in_pool(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether a hash that just verified was made with other parameters and should be replaced.

        Cheap (parses the string only). A hash that cannot be parsed needs replacing too.
        """
        if not password_hash.isascii():
            return True
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        if not password_hash.isascii():
            return False  # no PHC string is; argon2-cffi would raise UnicodeEncodeError instead of InvalidHashError
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            # VerifyMismatchError is a VerificationError; InvalidHashError covers strings that are no Argon2 hash.
            return False

    def _verify_against_dummy(self, password: str) -> None:
        self._verify(self._get_dummy_hash(), password)

    def _get_dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy_hash is None:
                # A random secret nobody knows, so no password ever matches the dummy.
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))
            return self._dummy_hash
