"""redis-py's exception classes, for ``except`` clauses and outage checks, without importing redis-py.

redis-py costs a worker ~20 MB of memory once imported (its command tables, and the OpenTelemetry SDK and psutil
it pulls in), so the Redis-backed stores import it when they are built, which only happens with REDIS_URL. Until
then no redis-py exception can exist, and these answer an empty tuple: ``except (*redis_errors("RedisError"),
OSError)`` is then ``except (OSError,)``. Only an error, never a request, pays for the look-up.
"""

from __future__ import annotations

import sys


def redis_errors(*names: str) -> tuple[type[Exception], ...]:
    """The classes ``redis.exceptions.<name>``, or ``()`` while redis-py has not been imported."""
    exceptions = sys.modules.get("redis.exceptions")
    if exceptions is None:
        return ()
    return tuple(getattr(exceptions, name) for name in names)
