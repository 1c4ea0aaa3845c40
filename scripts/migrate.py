"""``make migrate``: bring the configured database (DATABASE_URL, or SQLite under DATA_DIR) to the code's migrations.

For deployments that start with ``DB_MIGRATIONS=check``: run this once per release, before the new version
starts. It takes the same lock as a starting worker, so it is safe while other processes start.
"""

from __future__ import annotations

import asyncio

from impl.platform.db.engine import create_engine
from impl.platform.db.migrations import apply_or_check
from impl.platform.log_config import configure_logging
from impl.platform.settings import Settings, get_settings


async def migrate(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        await apply_or_check(engine, database_url=settings.effective_database_url(), mode="apply")
    finally:
        await engine.dispose()


def main() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    asyncio.run(migrate(settings))


if __name__ == "__main__":
    main()
