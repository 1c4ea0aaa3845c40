"""One user's read (GET, HEAD, conditional revalidation): the service's hot path, served from the cache.

Its own object, made before the users service and the sign-in accounts, because both write users and both must
drop the cached read after a committed change (``forget``): the users service for its own writes, the accounts for
sign-in's (a profile or password change). Neither needs the other to reach it.
"""

from __future__ import annotations

import uuid

from impl.platform.cache import Cache, PydanticCodec, cached
from impl.platform.db.engine import Sessions
from impl.users.errors import UserNotFoundError
from impl.users.repository import UserRepository
from impl.users.representation import UserSnapshot

# Users whose decoded read (and with it their model and headers) is kept between hits: a few hundred KB at most.
USERS_KEPT_DECODED = 1024


class UserReads:
    def __init__(self, *, sessions: Sessions, cache: Cache, ttl: float) -> None:
        self._sessions = sessions
        # Invalidated after every committed change, so a write is never followed by a stale read.
        self._cached = cached(
            cache,
            ttl=ttl,
            key=lambda user_id: f"user:{user_id}",
            codec=PydanticCodec(UserSnapshot),
            keep_decoded=USERS_KEPT_DECODED,
        )(self._read)

    async def get(self, user_id: uuid.UUID) -> UserSnapshot:
        """The user as stored (cached); ``UserNotFoundError`` when there is none."""
        return await self._cached(user_id)

    async def forget(self, user_id: uuid.UUID) -> None:
        """Drop the user's cached read: every writer calls this after its change commits."""
        await self._cached.invalidate(user_id)

    async def _read(self, user_id: uuid.UUID) -> UserSnapshot:
        async with self._sessions.read() as session:
            record = await UserRepository(session).get(user_id)
        if record is None:
            raise UserNotFoundError(user_id)
        return UserSnapshot.of(record)
