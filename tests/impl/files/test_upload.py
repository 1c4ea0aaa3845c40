"""Receiving an upload checks size and type while the bytes stream in, and the files domain announces uploads."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generated import models
from impl.files.content_types import SNIFF_BYTES
from impl.files.errors import EmptyFileError, UnsupportedFileTypeError, UploadTooLargeError
from impl.files.publishing import FILE_UPLOADED, FileEvents
from impl.files.storage import FileStorage
from impl.files.upload import ReceivedFile, receive_upload
from impl.platform.events import Event, EventBusUnavailableError, MemoryEventBus
from tests.impl.files.test_multipart import CONTENT_TYPE, form, part

pytestmark = pytest.mark.unit

LIMIT = 4 * SNIFF_BYTES


class Body:
    """A request body that counts how much of it the receiver pulled."""

    def __init__(self, data: bytes, chunk: int = 1024) -> None:
        self.chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def receive(tmp_path: Path, body: Body) -> tuple[ReceivedFile, int]:
    async def scenario() -> tuple[ReceivedFile, int]:
        pending = await FileStorage(tmp_path).create(uuid.uuid4())
        try:
            received = await receive_upload(aiter(body), content_type=CONTENT_TYPE, into=pending, max_bytes=LIMIT)
            return received, pending.size
        finally:
            await pending.discard()

    return asyncio.run(scenario())


def test_a_file_within_the_limit_is_received_with_its_sniffed_type(tmp_path: Path) -> None:
    content = b"\x89PNG\r\n\x1a\n" + bytes(LIMIT - 8)
    received, size = receive(tmp_path, Body(form(part(filename="picture.txt", body=content))))
    assert received == ReceivedFile(raw_filename="picture.txt", content_type="image/png")
    assert size == LIMIT


def test_a_file_over_the_limit_is_refused_as_soon_as_it_passes_it(tmp_path: Path) -> None:
    body = Body(form(part(body=b"a" * (LIMIT * 10))))
    with pytest.raises(UploadTooLargeError):
        receive(tmp_path, body)
    assert body.pulled <= LIMIT // 1024 + 2  # stopped right after the limit, not at the end of the body


def test_a_file_of_the_wrong_type_is_refused_once_its_first_bytes_are_in(tmp_path: Path) -> None:
    body = Body(form(part(filename="evil.png", body=b"\x7fELF" + bytes(LIMIT - 4))))
    with pytest.raises(UnsupportedFileTypeError):
        receive(tmp_path, body)
    assert body.pulled <= SNIFF_BYTES // 1024 + 2


def test_a_small_file_is_judged_once_complete(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFileTypeError):
        receive(tmp_path, Body(form(part(body=b"<html>hi</html>"))))
    assert receive(tmp_path, Body(form(part(body=b"hi"))))[0].content_type == "text/plain"


def test_an_empty_file_is_invalid(tmp_path: Path) -> None:
    with pytest.raises(EmptyFileError):
        receive(tmp_path, Body(form(part(body=b""))))


METADATA = models.FileMetadata(
    id=uuid.uuid4(),
    owner_id=uuid.uuid4(),
    filename="notes.txt",
    content_type=models.ContentType.text_plain,
    size=5,
    sha256="0" * 64,
    created_at=datetime(2026, 11, 30, tzinfo=UTC),
)


def test_an_upload_is_announced_with_its_metadata() -> None:
    async def scenario() -> Event:
        bus = MemoryEventBus()
        await bus.start()
        async with bus.subscribe(types=[FILE_UPLOADED]) as subscription:
            await FileEvents(bus=bus).uploaded(METADATA)
            event = await asyncio.wait_for(anext(aiter(subscription)), 5)
        await bus.close()
        return event

    event = asyncio.run(scenario())
    assert event.type == FILE_UPLOADED
    assert event.data == {"file": METADATA.model_dump(mode="json")}
    assert uuid.UUID(event.id)


class UnreachableBus(MemoryEventBus):
    async def publish(self, event: Event) -> None:
        raise EventBusUnavailableError


def test_an_unreachable_bus_is_logged_and_the_upload_stands(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="charter.files.events"):
        asyncio.run(FileEvents(bus=UnreachableBus()).uploaded(METADATA))  # no exception
    assert "could not publish file.uploaded" in caplog.text
