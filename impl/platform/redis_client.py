"""The one way the service connects to Redis: short timeouts, a bounded pool, one immediate retry.

Every store on Redis (the cache, the rate limiter, the event bus, the token blacklist) fails fast when Redis is
down: connect and read time out after ``socket_timeout``, a call waits at most that long for a free connection
(a blocking pool: the default pool raises at once, which under a burst would fail calls with 503s for no reason),
and a call is retried once, immediately, which covers a pooled connection the server has dropped. redis-py's
default (retries with backoff) would hold a request for seconds when Redis is down.

redis-py is imported when a pool is made, so only with REDIS_URL: it costs a worker ~20 MB (see
impl/platform/redis_errors.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis.asyncio


def redis_pool(url: str, *, max_connections: int, socket_timeout: float) -> redis.asyncio.BlockingConnectionPool:
    """A connection pool for ``url`` with the service's fail-fast options."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=socket_timeout,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 1),
    )


def redis_client(url: str, *, max_connections: int, socket_timeout: float) -> redis.asyncio.Redis:
    """A client on its own :func:`redis_pool`."""
    import redis.asyncio

    return redis.asyncio.Redis.from_pool(
        redis_pool(url, max_connections=max_connections, socket_timeout=socket_timeout)
    )


def redis_listener(url: str, *, socket_timeout: float) -> redis.asyncio.Redis:
    """A client for one long-lived subscription: no read timeout (it waits for messages), keep-alive and a health
    check every 5 s to notice a dead server, and no retry (the listening loop reconnects itself, and knows when it
    is not listening)."""
    import redis.asyncio
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return redis.asyncio.Redis.from_url(
        url,
        socket_connect_timeout=socket_timeout,
        socket_keepalive=True,
        health_check_interval=5,
        retry=Retry(NoBackoff(), 0),
    )
