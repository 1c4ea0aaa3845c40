"""The files domain's event on the bus: ``file.uploaded``, published after the upload's commit.

Pub/sub is at most once: when the bus cannot take the event (Redis down), the file is stored and stays stored; the
failure is logged and the upload succeeds. A committed upload must never be reported as an error.
"""

from __future__ import annotations

import logging
import uuid

from generated import models
from impl.platform.events import Event, EventBus

logger = logging.getLogger("charter.files.events")

FILE_UPLOADED = "file.uploaded"


class FileEvents:
    def __init__(self, *, bus: EventBus) -> None:
        self._bus = bus

    async def uploaded(self, file: models.FileMetadata) -> None:
        # A canonical UUID as the id: the spec's EventEnvelope declares `id` as `format: uuid`.
        event = Event(type=FILE_UPLOADED, data={"file": file.model_dump(mode="json")}, id=str(uuid.uuid4()))
        try:
            await self._bus.publish(event)
        except Exception:
            # Broad on purpose: whatever went wrong (EventBusUnavailableError, or a bug), the file is committed.
            logger.warning("could not publish %s event %s; the upload stands", FILE_UPLOADED, event.id, exc_info=True)
