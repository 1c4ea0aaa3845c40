"""Password hashing: Argon2id at or above the OWASP floor, safe verification, rehash on weaker parameters, off-loop.

Hashes are checked by parsing the stored PHC string, the way an auditor reading the database would.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import argon2
import pytest

from impl.auth.password_policy import normalise
from impl.auth.passwords import PasswordHasher

PHC = re.compile(r"^\$argon2id\$v=19\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
# OWASP Password Storage Cheat Sheet: Argon2id with at least m=19456 KiB, t=2, p=1.
OWASP_MIN_MEMORY_KIB = 19_456
OWASP_MIN_TIME_COST = 2
OWASP_MIN_PARALLELISM = 1


def weak_hasher() -> PasswordHasher:
    """Far below the floor: stands for hashes stored before the parameters were raised."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher()


def test_a_stored_hash_is_argon2id_at_or_above_the_owasp_floor(hasher: PasswordHasher) -> None:
    stored = asyncio.run(hasher.hash("correct horse battery staple"))

    match = PHC.match(stored)
    assert match, stored
    assert int(match["m"]) >= OWASP_MIN_MEMORY_KIB
    assert int(match["t"]) >= OWASP_MIN_TIME_COST
    assert int(match["p"]) >= OWASP_MIN_PARALLELISM


def test_the_same_password_hashes_differently_each_time(hasher: PasswordHasher) -> None:
    async def scenario() -> tuple[str, str]:
        return await hasher.hash("correct horse battery staple"), await hasher.hash("correct horse battery staple")

    first, second = asyncio.run(scenario())
    assert first != second  # a fresh salt per hash


def test_the_right_password_verifies_and_a_wrong_one_does_not(hasher: PasswordHasher) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        stored = await hasher.hash("correct horse battery staple")
        return (
            await hasher.verify(password_hash=stored, password="correct horse battery staple"),
            await hasher.verify(password_hash=stored, password="correct horse battery stapler"),
            await hasher.verify(password_hash=stored, password="Correct horse battery staple"),
        )

    assert asyncio.run(scenario()) == (True, False, False)


def test_nothing_is_truncated(hasher: PasswordHasher) -> None:
    """bcrypt ignores everything after 72 bytes; here a difference in the 256th character still counts."""
    password = "w" * 255 + "a"

    async def scenario() -> bool:
        stored = await hasher.hash(password)
        return await hasher.verify(password_hash=stored, password="w" * 255 + "b")

    assert asyncio.run(scenario()) is False


@pytest.mark.parametrize(
    "corrupt",
    [
        "",
        "not a hash",
        "$argon2id$v=19$m=65536,t=3,p=4$garbage",
        "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$",
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",  # bcrypt
        "$argon2id$v=19$m=65536,t=3,p=4$ünïcode$ünïcode",
    ],
)
def test_a_corrupt_hash_is_a_mismatch_not_an_error(hasher: PasswordHasher, corrupt: str) -> None:
    assert asyncio.run(hasher.verify(password_hash=corrupt, password="correct horse battery staple")) is False


def test_a_truncated_real_hash_is_a_mismatch(hasher: PasswordHasher) -> None:
    async def scenario() -> bool:
        stored = await hasher.hash("correct horse battery staple")
        return await hasher.verify(password_hash=stored[:-5], password="correct horse battery staple")

    assert asyncio.run(scenario()) is False


def test_an_unknown_account_fails_after_a_real_verification_against_a_dummy_hash() -> None:
    """No enumeration by timing: "no such user" does the same Argon2id work as "wrong password"."""
    hasher = PasswordHasher()

    assert asyncio.run(hasher.verify(password_hash=None, password="correct horse battery staple")) is False
    # The work happened: a dummy hash with the hasher's own parameters now exists (and is reused from here on).
    dummy = hasher._dummy_hash
    assert dummy is not None
    assert not hasher.needs_rehash(dummy)
    assert asyncio.run(hasher.verify(password_hash=None, password="")) is False
    assert hasher._dummy_hash == dummy


def test_a_hash_with_weaker_parameters_needs_rehash_but_still_verifies(hasher: PasswordHasher) -> None:
    weak = weak_hasher()

    async def scenario() -> tuple[str, str]:
        return await weak.hash("correct horse battery staple"), await hasher.hash("correct horse battery staple")

    old, current = asyncio.run(scenario())

    # Logging in with an old hash works, and then the hash is upgraded.
    assert asyncio.run(hasher.verify(password_hash=old, password="correct horse battery staple")) is True
    assert hasher.needs_rehash(old) is True
    assert weak.needs_rehash(old) is False
    assert hasher.needs_rehash(current) is False


@pytest.mark.parametrize("unparsable", ["not a hash", "", "$argon2id$v=19$m=ü,t=3,p=4$x$y"])
def test_an_unparsable_hash_needs_rehash(hasher: PasswordHasher, unparsable: str) -> None:
    assert hasher.needs_rehash(unparsable) is True


@pytest.mark.parametrize(
    "password",
    ["pässwörd mit ümläuten ✓", "日本語のパスフレーズです", "🐴🔋📎 horse battery clip 🐴", "tab\tand\nnewline"],
)
def test_unicode_passwords_round_trip(hasher: PasswordHasher, password: str) -> None:
    async def scenario() -> bool:
        stored = await hasher.hash(normalise(password))
        return await hasher.verify(password_hash=stored, password=normalise(password))

    assert asyncio.run(scenario()) is True


def test_composed_and_decomposed_accents_are_the_same_password_after_normalising(hasher: PasswordHasher) -> None:
    composed = "caf\u00e9 au lait pour deux"
    decomposed = "cafe\u0301 au lait pour deux"

    async def scenario() -> bool:
        stored = await hasher.hash(normalise(composed))
        return await hasher.verify(password_hash=stored, password=normalise(decomposed))

    assert asyncio.run(scenario()) is True


async def _ticks_while(work: Callable[[], Awaitable[object]]) -> int:
    """How often another task ran while ``work`` was awaited: 0 if ``work`` held the event loop throughout."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # let the ticker start
    before = ticks
    try:
        await work()
    finally:
        task.cancel()
    return ticks - before


def test_hashing_and_verifying_do_not_block_the_event_loop(hasher: PasswordHasher) -> None:
    async def scenario() -> tuple[int, int, int]:
        stored = await hasher.hash("correct horse battery staple")
        return (
            await _ticks_while(lambda: hasher.hash("correct horse battery staple")),
            await _ticks_while(lambda: hasher.verify(password_hash=stored, password="correct horse battery staple")),
            await _ticks_while(lambda: hasher.verify(password_hash=None, password="correct horse battery staple")),
        )

    during_hash, during_verify, during_unknown = asyncio.run(scenario())
    assert during_hash > 0
    assert during_verify > 0
    assert during_unknown > 0


def _overlap_of(hasher: PasswordHasher, *, calls: int) -> tuple[int, set[str]]:
    """How many hashes ran at the same time, and in which threads, when ``calls`` are started together."""
    import threading
    import time

    active = 0
    most = 0
    threads: set[str] = set()
    lock = threading.Lock()

    class CountingHasher(argon2.PasswordHasher):
        def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
            nonlocal active, most
            with lock:
                active += 1
                most = max(most, active)
                threads.add(threading.current_thread().name)
            time.sleep(0.05)  # long enough for the others to start if the pool allowed it
            try:
                return super().hash(password, salt=salt)
            finally:
                with lock:
                    active -= 1

    hasher._hasher = CountingHasher(time_cost=1, memory_cost=8, parallelism=1)

    async def scenario() -> None:
        await asyncio.gather(*(hasher.hash(f"passphrase number {index}") for index in range(calls)))

    asyncio.run(scenario())
    return most, threads


def test_hashes_queue_in_the_hashers_own_bounded_pool_not_asyncios_default_executor() -> None:
    # A burst of sign-ins must not take every thread of the shared executor (readiness checks and file I/O use it).
    one_at_a_time, threads = _overlap_of(
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, concurrency=1), calls=4
    )
    assert one_at_a_time == 1
    assert threads
    assert all(name.startswith("argon2") for name in threads)

    three_at_a_time, _ = _overlap_of(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, concurrency=3), calls=3)
    assert three_at_a_time == 3
