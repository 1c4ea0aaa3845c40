"""APP_ENV=mock's platform side: say at start-up what the mock ignores or relaxes, and remove its scratch data at
shutdown.

Settings gives a mock its own scratch data directory in the system's temporary directory (the SQLite database and
the uploads live there) and drops DATABASE_URL and REDIS_URL, so the mock touches no external service; the
in-process cache, rate limiter, token blacklist and event bus are what the app builds without REDIS_URL anyway.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
from pathlib import Path

from impl.platform.settings import MOCK_DATA_DIR_PREFIX, Settings

logger = logging.getLogger("charter.mock")


def announce_mock_mode(settings: Settings) -> None:
    """Log, once per start, that this is the mock, where its data lives, and which settings it ignored."""
    if settings.app_env != "mock":
        return
    logger.info("APP_ENV=mock: scratch data in %s, removed at shutdown; no external services", settings.data_dir)
    logger.info(
        "APP_ENV=mock: auth rate limit %s (requests/seconds, RATE_LIMIT_AUTH), relaxed from the spec's",
        settings.rate_limit_override("auth"),
    )
    if settings.ignored_in_mock:
        names = ", ".join(name.upper() for name in settings.ignored_in_mock)
        logger.warning("APP_ENV=mock ignores %s: the mock never uses another database, Redis or data directory", names)


def is_mock_scratch_dir(path: Path) -> bool:
    """Only a directory Settings named for a mock is ever removed, never a directory someone configured."""
    return path.parent == Path(tempfile.gettempdir()) and path.name.startswith(MOCK_DATA_DIR_PREFIX)


async def remove_mock_data(settings: Settings) -> None:
    """Delete the mock's scratch data directory (after the engine is disposed of): nothing outlives the process."""
    if settings.app_env != "mock" or not is_mock_scratch_dir(settings.data_dir):
        return
    await asyncio.to_thread(shutil.rmtree, settings.data_dir, ignore_errors=True)
