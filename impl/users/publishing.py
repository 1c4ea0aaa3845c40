"""The users domain's events on the bus: user.created, user.updated, user.deleted, published after each commit.

Pub/sub is at most once: when the bus cannot take an event (Redis down), the write has already been committed and
stands; the failure is logged and the request succeeds. A committed change must never be reported as an error.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from generated import models
from impl.platform.events import Event, EventBus

logger = logging.getLogger("charter.users.events")

USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"


class UserEvents:
    def __init__(self, *, bus: EventBus) -> None:
        self._bus = bus

    async def created(self, user: models.User) -> None:
        await self._publish(USER_CREATED, {"user": user.model_dump(mode="json")})

    async def updated(self, user: models.User) -> None:
        await self._publish(USER_UPDATED, {"user": user.model_dump(mode="json")})

    async def deleted(self, user_id: uuid.UUID) -> None:
        await self._publish(USER_DELETED, {"user_id": str(user_id)})

    async def _publish(self, type_: str, data: dict[str, Any]) -> None:
        # A canonical UUID as the id: the spec's EventEnvelope declares `id` as `format: uuid`.
        event = Event(type=type_, data=data, id=str(uuid.uuid4()))
        try:
            await self._bus.publish(event)
        except Exception:
            # Broad on purpose: whatever went wrong (EventBusUnavailableError, or a bug), the change is committed.
            logger.warning("could not publish %s event %s; the change stands", type_, event.id, exc_info=True)
