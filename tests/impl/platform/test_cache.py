"""The cache: both backends behave alike, LRU and TTL bound it, and a write is never followed by a stale read.

Redis tests use the shared server through the ``redis_url`` fixture, each under its own key prefix, and delete
their keys afterwards (never FLUSHDB). "Redis down" is a real closed port or a real server that never answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from impl.platform.cache import (
    Cache,
    Cached,
    CacheUnavailableError,
    MemoryCache,
    PydanticCodec,
    RedisCache,
    cached,
    create_cache,
)
from impl.platform.problems import ProblemError, install_problem_handlers

pytestmark = pytest.mark.unit

CacheFactory = Callable[[], Cache]


@pytest.fixture(params=["memory", "redis"])
def make_cache(request: pytest.FixtureRequest) -> CacheFactory:
    """A factory, called inside the test's event loop; every Redis cache it makes shares one prefix (= workers)."""
    if request.param == "memory":
        return MemoryCache
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("redis_prefix")
    return lambda: RedisCache(url, prefix=prefix)


@asynccontextmanager
async def opened(factory: Callable[[], Cache]) -> AsyncIterator[Cache]:
    cache = factory()
    try:
        yield cache
    finally:
        await cache.close()


def _item_key(name: str, /) -> str:
    return f"item:{name}"


def _text_cached(cache: Cache, loader: Callable[[str], Awaitable[str]]) -> Cached[[str], str]:
    """A read-through cache of ``loader``; ``name`` is stored under the key ``item:<name>``."""
    return cached(cache, ttl=30, key=_item_key, codec=PydanticCodec(str))(loader)


# ---- the Cache operations, on both backends --------------------------------------------------------------------


def test_set_get_delete_round_trip(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            assert await cache.get("missing") is None
            await cache.set("a", b"one", ttl=30)
            await cache.set("b", b"two", ttl=30)
            assert await cache.get("a") == b"one"
            await cache.set("a", b"uno", ttl=30)
            assert await cache.get("a") == b"uno"
            await cache.delete("a", "b", "never-set")
            assert await cache.get("a") is None
            assert await cache.get("b") is None
            await cache.delete()  # nothing to do, no error

    asyncio.run(scenario())


def test_entries_expire_after_their_ttl(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            await cache.set("short", b"x", ttl=0.2)
            generation = await cache.generation("conditional")
            assert await cache.set_if_generation("conditional", b"y", ttl=0.2, generation=generation)
            await cache.set("long", b"z", ttl=30)
            assert await cache.get("short") == b"x"
            await asyncio.sleep(0.35)
            assert await cache.get("short") is None
            assert await cache.get("conditional") is None
            assert await cache.get("long") == b"z"

    asyncio.run(scenario())


@pytest.mark.parametrize("ttl", [0, -1, math.inf, math.nan])
def test_a_ttl_must_be_positive_and_finite(make_cache: CacheFactory, ttl: float) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            with pytest.raises(ValueError, match="ttl"):
                await cache.set("k", b"v", ttl=ttl)
            with pytest.raises(ValueError, match="ttl"):
                await cache.set_if_generation("k", b"v", ttl=ttl, generation=0)

    asyncio.run(scenario())


def test_delete_bumps_the_generation_so_an_older_conditional_store_is_refused(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            before = await cache.generation("k")
            await cache.delete("k")
            after = await cache.generation("k")
            assert after != before
            assert not await cache.set_if_generation("k", b"old", ttl=30, generation=before)
            assert await cache.get("k") is None
            assert await cache.set_if_generation("k", b"new", ttl=30, generation=after)
            assert await cache.get("k") == b"new"
            assert await cache.generation("k") == after  # a store does not change it; only a delete does

    asyncio.run(scenario())


# ---- MemoryCache bounds -----------------------------------------------------------------------------------------


def test_memory_cache_evicts_the_least_recently_used_entry() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_entries=2)
        await cache.set("a", b"1", ttl=30)
        await cache.set("b", b"2", ttl=30)
        assert await cache.get("a") == b"1"  # a is now more recent than b
        await cache.set("c", b"3", ttl=30)
        assert await cache.get("b") is None
        assert await cache.get("a") == b"1"
        assert await cache.get("c") == b"3"

    asyncio.run(scenario())


def test_memory_cache_generations_are_bounded_yet_never_come_back() -> None:
    async def scenario() -> None:
        cache = MemoryCache(max_entries=2)
        seen = await cache.generation("a")
        await cache.delete("a")
        await cache.delete("b", "c", "d")  # evicts a's generation entry
        assert await cache.generation("a") != seen
        assert not await cache.set_if_generation("a", b"stale", ttl=30, generation=seen)
        assert await cache.get("a") is None

    asyncio.run(scenario())


# ---- the decorator ----------------------------------------------------------------------------------------------


def test_the_decorator_loads_once_then_hits_then_reloads_after_a_delete(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            calls: list[str] = []

            async def load(name: str) -> str:
                calls.append(name)
                return f"value of {name} #{len(calls)}"

            get = _text_cached(cache, load)
            assert await get("x") == "value of x #1"
            assert await get("x") == "value of x #1"
            assert calls == ["x"]
            assert (get.hits, get.misses) == (1, 1)

            await get.invalidate("x")
            assert await get("x") == "value of x #2"
            assert await get("x") == "value of x #2"
            assert calls == ["x", "x"]
            assert (get.hits, get.misses) == (2, 2)

    asyncio.run(scenario())


class Item(BaseModel):
    id: int
    name: str


def test_the_pydantic_codec_round_trips_models_and_an_undecodable_entry_is_reloaded(
    make_cache: CacheFactory,
) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            loads = 0

            @cached(cache, ttl=30, key=lambda item_id: f"item:{item_id}", codec=PydanticCodec(Item))
            async def load(item_id: int) -> Item:
                nonlocal loads
                loads += 1
                return Item(id=item_id, name="widget")

            await cache.set("item:7", b'{"id": "not a number"}', ttl=30)  # e.g. written by an older release
            assert await load(7) == Item(id=7, name="widget")
            assert await load(7) == Item(id=7, name="widget")
            assert loads == 1
            assert (load.hits, load.misses) == (1, 1)
            assert load.__name__ == "load"

    asyncio.run(scenario())


class CountedDecodes(PydanticCodec[Item]):
    """The pydantic codec, counting its decodes."""

    def __init__(self) -> None:
        super().__init__(Item)
        self.decodes = 0

    def decode(self, data: bytes) -> Item:
        self.decodes += 1
        return super().decode(data)


def test_kept_decoded_values_are_reused_while_the_stored_bytes_are_the_same(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            codec = CountedDecodes()

            @cached(cache, ttl=30, key=lambda item_id: f"item:{item_id}", codec=codec, keep_decoded=2)
            async def load(item_id: int) -> Item:
                return Item(id=item_id, name="widget")

            await load(1)  # a miss: loaded and stored
            first = await load(1)
            assert await load(1) is first  # the same bytes came back: the value decoded before
            assert codec.decodes == 1

            # Another writer (another worker) stored a new version: other bytes, decoded afresh.
            await cache.set("item:1", b'{"id": 1, "name": "renamed"}', ttl=30)
            assert await load(1) == Item(id=1, name="renamed")
            assert codec.decodes == 2

            # Bounded: a third key pushes out the least recently decoded one.
            await load(2)
            await load(2)
            await load(3)
            await load(3)
            assert codec.decodes == 4
            await load(1)
            assert codec.decodes == 5
            assert (load.hits, load.misses) == (6, 3)

    asyncio.run(scenario())


def test_without_keep_decoded_every_hit_decodes(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            codec = CountedDecodes()

            @cached(cache, ttl=30, key=lambda item_id: f"item:{item_id}", codec=codec)
            async def load(item_id: int) -> Item:
                return Item(id=item_id, name="widget")

            await load(1)
            assert await load(1) is not await load(1)
            assert codec.decodes == 2

    asyncio.run(scenario())


def test_a_failing_loader_stores_nothing(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            attempts = 0

            async def flaky(name: str) -> str:
                nonlocal attempts
                attempts += 1
                if attempts == 1:
                    raise RuntimeError("source of truth unavailable")
                return "loaded"

            get = _text_cached(cache, flaky)
            with pytest.raises(RuntimeError, match="unavailable"):
                await get("x")
            assert await cache.get("item:x") is None
            assert await get("x") == "loaded"
            assert attempts == 2

    asyncio.run(scenario())


# ---- never a stale read after a write ---------------------------------------------------------------------------


async def _race_a_write_into_a_load(reader_cache: Cache, writer_cache: Cache) -> tuple[str, str, int]:
    """A reader loads "old"; while it is loading, a writer commits "new" and invalidates; then the load returns.

    Returns what the racing read returned, what the next read returns, and how many loads happened.
    """
    source = {"item:x": "old"}
    loading, written = asyncio.Event(), asyncio.Event()
    loads = 0

    async def load(name: str) -> str:
        nonlocal loads
        loads += 1
        value = source[f"item:{name}"]  # the read from the source of truth
        loading.set()
        await written.wait()  # the write commits and invalidates while this "query" is still in flight
        return value

    async def write() -> None:
        await loading.wait()
        source["item:x"] = "new"
        await writer_cache.delete("item:x")  # after the commit, as writers must
        written.set()

    get = _text_cached(reader_cache, load)
    racing, _ = await asyncio.gather(get("x"), write())
    return racing, await get("x"), loads


def test_a_write_during_a_load_is_never_followed_by_a_stale_read(make_cache: CacheFactory) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            racing, after, loads = await _race_a_write_into_a_load(cache, cache)
            assert racing == "old"  # that read began before the write: it may see the old value...
            assert after == "new"  # ...but it must not have cached it
            assert loads == 2

    asyncio.run(scenario())


def test_a_delete_from_another_worker_wins_the_race_too(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        async with (
            opened(lambda: RedisCache(redis_url, prefix=redis_prefix)) as reader,
            opened(lambda: RedisCache(redis_url, prefix=redis_prefix)) as writer,
        ):
            racing, after, _ = await _race_a_write_into_a_load(reader, writer)
            assert (racing, after) == ("old", "new")

    asyncio.run(scenario())


def test_concurrent_reads_and_writes_never_serve_a_value_older_than_the_last_acknowledged_write(
    make_cache: CacheFactory,
) -> None:
    async def scenario() -> None:
        async with opened(make_cache) as cache:
            rng = random.Random(20240601)  # noqa: S311 -- timing jitter, not security; seeded to be repeatable
            source = {"version": 0}
            acknowledged = 0  # the newest version whose write (commit + invalidation) has completed
            stale: list[tuple[int, int]] = []

            async def load(name: str) -> str:
                value = source["version"]
                await asyncio.sleep(rng.random() * 0.003)  # the query is in flight while writers run
                return str(value)

            get = _text_cached(cache, load)

            async def write(start: float, commit_to_invalidation: float) -> None:
                nonlocal acknowledged
                await asyncio.sleep(start)
                source["version"] += 1  # the commit
                version = source["version"]
                await asyncio.sleep(commit_to_invalidation)
                await cache.delete("item:x")
                acknowledged = max(acknowledged, version)  # the write is acknowledged only now

            async def read(start: float) -> None:
                await asyncio.sleep(start)
                floor = acknowledged
                value = int(await get("x"))
                if value < floor:
                    stale.append((value, floor))

            # Warm Redis's connection pool first: opening ~100 connections at once takes longer than the whole
            # race, so every load would overlap a delete, nothing would be stored and nothing would be tested.
            await asyncio.gather(*(cache.get("warm-up") for _ in range(100)))
            # Starts spread over 200 ms, loads and invalidations of up to 3 ms: reads and writes overlap throughout.
            tasks = [
                write(rng.random() * 0.2, rng.random() * 0.003) if i % 2 == 0 else read(rng.random() * 0.2)
                for i in range(200)
            ]
            await asyncio.gather(*tasks)

            assert stale == []
            final = str(source["version"])
            assert final == "100"
            assert await get("x") == final
            data = await cache.get("item:x")
            assert data is not None
            assert PydanticCodec(str).decode(data) == final

    asyncio.run(scenario())


def test_a_reader_slower_than_half_the_generation_ttl_does_not_store(redis_url: str, redis_prefix: str) -> None:
    """The generation key expires (so it reads 0 again): only the slow-reader rule keeps "old" out of the cache."""

    async def scenario() -> None:
        async with opened(lambda: RedisCache(redis_url, prefix=redis_prefix, generation_ttl=0.2)) as cache:
            source = {"value": "old"}
            read = asyncio.Event()
            written = asyncio.Event()

            async def load(name: str) -> str:
                value = source["value"]
                read.set()
                await written.wait()
                await asyncio.sleep(0.35)  # the generation key expires meanwhile
                assert await cache.generation("item:x") == 0  # the premise: without the rule this would match
                return value

            async def write() -> None:
                await read.wait()  # the reader has the old value (a sleep here loses the race on a busy machine)
                source["value"] = "new"
                await cache.delete("item:x")
                written.set()

            get = _text_cached(cache, load)
            racing, _ = await asyncio.gather(get("x"), write())
            assert racing == "old"
            assert await cache.get("item:x") is None
            written.set()

    asyncio.run(scenario())


# ---- Redis specifics ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_with_redis_down_reads_and_stores_fail_open_but_invalidation_raises(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        cache = RedisCache(f"redis://:hunter2-secret@127.0.0.1:{_free_port()}/0")
        try:
            started = time.perf_counter()
            assert await cache.get("k") is None
            await cache.set("k", b"private-value", ttl=30)
            assert not await cache.set_if_generation("k", b"private-value", ttl=30, generation=0)
            loaded = await _text_cached(cache, _echo)("x")
            assert loaded == "echo x"
            assert time.perf_counter() - started < 2
            with pytest.raises(CacheUnavailableError) as raised:
                await cache.delete("k")
            assert raised.value.status == 503
            assert raised.value.headers == {"Retry-After": "1"}
        finally:
            await cache.close()

    with caplog.at_level(logging.WARNING, logger="charter.cache"):
        asyncio.run(scenario())
    warnings = [record for record in caplog.records if record.name == "charter.cache"]
    assert warnings
    assert all(record.levelno == logging.WARNING for record in warnings)
    assert "hunter2-secret" not in caplog.text
    assert "private-value" not in caplog.text


async def _echo(name: str) -> str:
    return f"echo {name}"


def test_a_redis_that_never_answers_cannot_hang_requests() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing ever replies

        async def scenario() -> None:
            cache = RedisCache(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
            try:
                started = time.perf_counter()
                assert await cache.get("k") is None
                await cache.set("k", b"v", ttl=30)
                assert await _text_cached(cache, _echo)("x") == "echo x"
                assert time.perf_counter() - started < 2
                started = time.perf_counter()
                with pytest.raises(CacheUnavailableError):
                    await cache.delete("k")
                assert time.perf_counter() - started < 2
            finally:
                await cache.close()

        asyncio.run(scenario())


def test_cache_unavailable_is_a_503_problem_with_retry_after() -> None:
    assert issubclass(CacheUnavailableError, ProblemError)
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/things")
    async def write() -> None:
        raise CacheUnavailableError

    with TestClient(app) as client:
        response = client.post("/things")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503


def test_caches_under_different_prefixes_do_not_collide(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        async with (
            opened(lambda: RedisCache(redis_url, prefix=f"{redis_prefix}a:")) as first,
            opened(lambda: RedisCache(redis_url, prefix=f"{redis_prefix}b:")) as second,
        ):
            await first.set("k", b"first", ttl=30)
            await second.set("k", b"second", ttl=30)
            assert await first.get("k") == b"first"
            assert await second.get("k") == b"second"
            await first.delete("k")
            assert await first.get("k") is None
            assert await second.get("k") == b"second"
            assert await first.generation("k") == 1
            assert await second.generation("k") == 0

    asyncio.run(scenario())


def test_create_cache_picks_redis_only_when_a_url_is_given(redis_url: str) -> None:
    async def scenario() -> None:
        memory = create_cache(redis_url=None, max_entries=5)
        shared = create_cache(redis_url=redis_url)
        assert isinstance(memory, MemoryCache)
        assert isinstance(shared, RedisCache)
        await memory.close()
        await shared.close()

    asyncio.run(scenario())
