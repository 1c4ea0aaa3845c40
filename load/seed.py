"""Production-sized data for a load run: bulk-insert many users straight into the target's database, and remove them.

``python -m load.seed --database-url URL --users 100000`` (``make load SEED_USERS=100000`` does it for you). The
API has no bulk path, and creating 100,000 accounts through it would spend minutes in Argon2id: this writes rows in
batches of ``BATCH`` with one INSERT each, reusing ONE Argon2id hash of a random password nobody keeps (the rows
look like real accounts, with a hash of the real width, and nobody can sign in to them). The database must be
migrated already (start the service once). Seeded users are spread over two years of ``created_at``, with varied
names (search has something to find), a few moderators and some inactive accounts; their emails end in
``@seed.load.example.com``, which is how ``--delete`` finds them again (and nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import argon2
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from impl.users.models import UserRecord
from load.journeys.data import FIRST_NAMES, LAST_NAMES

log = logging.getLogger("charter.load")
SEED_DOMAIN = "seed.load.example.com"
BATCH = 5_000


def rows(start: int, count: int, *, seed_id: str, password_hash: str, now: datetime) -> list[dict[str, Any]]:
    """User rows ``start`` to ``start + count``; random but plausible (not cryptographic: nothing here is secret)."""
    rng = random.Random(f"{seed_id}-{start}")  # noqa: S311  # nosec B311
    made = []
    for n in range(start, start + count):
        created = now - timedelta(seconds=rng.randrange(2 * 365 * 86_400))
        made.append(
            {
                "id": uuid.uuid4(),
                "email": f"{seed_id}-{n}@{SEED_DOMAIN}",
                "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n}",
                "role": "moderator" if rng.random() < 0.01 else "user",
                "active": rng.random() < 0.95,
                "created_at": created,
                "updated_at": created,
                "version": 1,
                "password_hash": password_hash,
            }
        )
    return made


async def seed(database_url: str, count: int) -> float:
    """Insert ``count`` users; the seconds it took."""
    started = time.monotonic()
    password_hash = argon2.PasswordHasher().hash(secrets.token_urlsafe(24))  # once, for every row
    seed_id = f"seed-{secrets.token_hex(3)}"
    now = datetime.now(UTC)
    engine = create_async_engine(database_url)
    try:
        for start in range(0, count, BATCH):
            batch = rows(start, min(BATCH, count - start), seed_id=seed_id, password_hash=password_hash, now=now)
            async with engine.begin() as connection:
                await connection.execute(insert(UserRecord), batch)
    finally:
        await engine.dispose()
    return time.monotonic() - started


async def count_users(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(UserRecord))).scalar_one())
    finally:
        await engine.dispose()


async def remove(database_url: str) -> int:
    """Delete every seeded user (email in SEED_DOMAIN); how many."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(delete(UserRecord).where(UserRecord.email.like(f"%@{SEED_DOMAIN}")))
            return int(result.rowcount)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database-url", required=True, help="the target's DATABASE_URL (SQLAlchemy async URL)")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--users", type=int, help="insert this many users")
    group.add_argument("--delete", action="store_true", help="delete every seeded user")
    args = parser.parse_args(argv)
    if args.delete:
        print(f"seed: deleted {asyncio.run(remove(args.database_url)):,} seeded users", flush=True)
        return 0
    seconds = asyncio.run(seed(args.database_url, args.users))
    total = asyncio.run(count_users(args.database_url))
    print(f"seed: {args.users:,} users inserted in {seconds:.1f} s ({total:,} users in the table)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
