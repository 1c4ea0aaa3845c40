"""Reading acknowledged writes back from the database itself, not through the service that acknowledged them."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from sqlalchemy.engine import make_url


async def _stored_users(database_url: str, ids: list[uuid.UUID]) -> dict[str, str]:
    url = make_url(database_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    try:
        rows = await connection.fetch("SELECT id, email FROM users WHERE id = ANY($1::uuid[])", ids)
    finally:
        await connection.close()
    return {str(row["id"]): row["email"] for row in rows}


def lost_users(database_url: str, acknowledged: dict[str, str]) -> dict[str, str]:
    """The acknowledged creates (id -> email) that the database does not hold as acknowledged."""
    stored = asyncio.run(_stored_users(database_url, [uuid.UUID(user_id) for user_id in acknowledged]))
    return {user_id: email for user_id, email in acknowledged.items() if stored.get(user_id) != email}
