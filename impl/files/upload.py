"""Receiving one upload: the body streamed through the multipart reader into a pending file, checked on the way.

Limits are enforced while the bytes arrive, never after: the file is refused (413) the moment it passes the
size limit, and (415) as soon as its first :data:`SNIFF_BYTES` show a type outside the allow-list. Nothing is held
in memory beyond one network chunk and the write buffer; the caller discards the pending file on any error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from impl.files.content_types import SNIFF_BYTES, sniff
from impl.files.errors import EmptyFileError, UnsupportedFileTypeError, UploadTooLargeError
from impl.files.multipart import UploadReader
from impl.files.storage import PendingFile


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    raw_filename: str
    content_type: str


async def receive_upload(
    body: AsyncIterator[bytes], *, content_type: str | None, into: PendingFile, max_bytes: int
) -> ReceivedFile:
    """Parse ``body`` and write the file part into ``into``; raises the 400/413/415/422 domain errors."""
    reader = UploadReader(content_type)
    head = bytearray()
    sniffed: str | None = None
    async for chunk in body:
        for piece in reader.feed(chunk):
            if into.size + len(piece) > max_bytes:
                raise UploadTooLargeError(max_bytes)
            if sniffed is None:
                head += piece[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    sniffed = _accepted(bytes(head), complete=False)
            await into.write(piece)
    raw_filename = reader.finish()
    if into.size == 0:
        raise EmptyFileError
    if sniffed is None:
        sniffed = _accepted(bytes(head), complete=True)
    return ReceivedFile(raw_filename=raw_filename, content_type=sniffed)


def _accepted(head: bytes, *, complete: bool) -> str:
    media_type = sniff(head, complete=complete)
    if media_type is None:
        raise UnsupportedFileTypeError
    return media_type
