"""The `files` tag's handlers (generated.api.files.FilesApi): streamed uploads, listing, ranged downloads, deletion.

Files are private: every operation looks a file up by id *and* owner, so anyone else's file -- whatever their
role -- answers 404 exactly like a missing one, and ids cannot be probed.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from urllib.parse import urlencode

import anyio
from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from generated import models
from generated.api._support import Principal, Reply
from impl.files.download import OpenFileResponse
from impl.files.errors import MalformedUploadError, UnknownFileError, UnsatisfiableRangeError, UploadTooLargeError
from impl.files.filenames import content_disposition, sanitize_filename
from impl.files.models import FileRecord
from impl.files.multipart import MULTIPART_OVERHEAD_BYTES
from impl.files.pagination import decode_cursor, encode_cursor
from impl.files.publishing import FileEvents
from impl.files.ranges import RangeNotSatisfiableError, parse_range
from impl.files.repository import FileRepository
from impl.files.storage import FileStorage
from impl.files.upload import receive_upload
from impl.platform.conditional import http_date, none_match
from impl.platform.db.base import utc_now
from impl.platform.db.engine import Sessions

logger = logging.getLogger("charter.files")
COLLECTION = "/api/v1/files"


def view(record: FileRecord) -> models.FileMetadata:
    return models.FileMetadata(
        id=record.id,
        owner_id=record.owner_id,
        filename=record.filename,
        content_type=models.ContentType(record.content_type),
        size=record.size,
        sha256=record.sha256,
        created_at=record.created_at,
    )


def content_etag(record: FileRecord) -> str:
    """The bytes' strong validator: their SHA-256 (stored content never changes)."""
    return f'"{record.sha256}"'


def metadata_etag(record: FileRecord) -> str:
    # Another representation than the bytes, so another tag; the metadata never changes either.
    return '"' + hashlib.sha256(f"{record.id}:{record.sha256}".encode()).hexdigest()[:32] + '"'


class FilesService:
    def __init__(self, *, sessions: Sessions, storage: FileStorage, events: FileEvents, max_upload_bytes: int) -> None:
        self._sessions = sessions
        self._storage = storage
        self._events = events
        self._max_upload_bytes = max_upload_bytes

    async def sweep_interrupted_uploads(self) -> None:
        """At start-up: delete what uploads cut short by a crash left on disk."""
        removed = await self._storage.sweep_temporaries()
        if removed:
            logger.info("removed %d temporary files of interrupted uploads", removed)

    @property
    def max_request_bytes(self) -> int:
        """The largest upload request body: the file limit plus room for the multipart framing around it."""
        return self._max_upload_bytes + MULTIPART_OVERHEAD_BYTES

    async def upload_file(self, *, request: Request, principal: Principal) -> Reply[models.FileMetadata]:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_request_bytes:
            raise UploadTooLargeError(self._max_upload_bytes)  # refused before a byte of the body is read
        file_id = uuid.uuid4()
        pending = await self._storage.create(file_id)
        try:
            received = await receive_upload(
                request.stream(),
                content_type=request.headers.get("content-type"),
                into=pending,
                max_bytes=self._max_upload_bytes,
            )
            await pending.commit()
        except ClientDisconnect:
            # Nobody is left to read an answer; this one only keeps the disconnect out of the error log.
            raise MalformedUploadError("The client disconnected before the upload ended.") from None
        finally:
            await pending.discard()
        record = FileRecord(
            id=file_id,
            owner_id=principal.subject,
            filename=sanitize_filename(received.raw_filename),
            content_type=received.content_type,
            size=pending.size,
            sha256=pending.sha256,
            created_at=utc_now(),
        )
        try:
            async with self._sessions.write.begin() as session:
                await FileRepository(session).insert(record)
        except BaseException:
            # The row is the file's existence: without it the bytes are garbage, removed at once.
            with anyio.CancelScope(shield=True):
                await self._storage.remove(file_id)
            raise
        metadata = view(record)
        await self._events.uploaded(metadata)
        headers = {"Location": f"{COLLECTION}/{file_id}", "ETag": metadata_etag(record)}
        return Reply(metadata, headers=headers, status_code=201)

    async def list_files(
        self, *, limit: int, cursor: str | None, principal: Principal
    ) -> models.FilePage | Reply[models.FilePage]:
        after = decode_cursor(cursor) if cursor is not None else None
        async with self._sessions.read() as session:
            records = await FileRepository(session).page(owner_id=principal.subject, after=after, limit=limit + 1)
        page = records[:limit]
        items = [view(record) for record in page]
        if len(records) <= limit:
            return models.FilePage(items=items, next=None)
        # One shape with the users' listing: the next page's URL in the body and in Link (RFC 8288).
        next_url = f"{COLLECTION}?{urlencode({'limit': limit, 'cursor': encode_cursor(page[-1])})}"
        return Reply(models.FilePage(items=items, next=next_url), headers={"Link": f'<{next_url}>; rel="next"'})

    async def get_file_metadata(self, *, file_id: uuid.UUID, principal: Principal) -> Reply[models.FileMetadata]:
        record = await self._owned(file_id, principal)
        return Reply(view(record), headers={"ETag": metadata_etag(record)})

    async def download_file(
        self,
        *,
        file_id: uuid.UUID,
        range: str | None,  # the generated Protocol names it so
        if_range: str | None,
        if_none_match: str | None,
        principal: Principal,
    ) -> Response:
        record = await self._owned(file_id, principal)
        etag, headers = content_etag(record), download_headers(record)
        if none_match(if_none_match, etag):
            return Response(status_code=304, headers=not_modified_headers(headers))
        selected = None
        # If-Range: the range only applies to the representation the client already has part of (strong match);
        # a date or another tag means it changed, and the whole file is sent.
        if range is not None and (if_range is None or if_range.strip() == etag):
            try:
                selected = parse_range(range, record.size)
            except RangeNotSatisfiableError:
                raise UnsatisfiableRangeError(record.size) from None
        try:
            handle = await self._storage.open(file_id)
        except FileNotFoundError:
            logger.error("file %s has a row but no content on disk; answering 404", file_id)
            raise UnknownFileError(file_id) from None
        if selected is None:
            return OpenFileResponse(
                handle, offset=0, length=record.size, media_type=record.content_type, headers=headers
            )
        return OpenFileResponse(
            handle,
            offset=selected.first,
            length=selected.length,
            media_type=record.content_type,
            headers={**headers, "Content-Range": selected.content_range},
            status_code=206,
        )

    async def head_file_content(
        self, *, file_id: uuid.UUID, if_none_match: str | None, principal: Principal
    ) -> Reply[None]:
        record = await self._owned(file_id, principal)
        headers = download_headers(record)
        if none_match(if_none_match, headers["ETag"]):
            return Reply(None, headers=not_modified_headers(headers), status_code=304)
        # What GET would send for the whole file (RFC 9110 §9.3.2), its length and type included.
        return Reply(
            None,
            headers={**headers, "Content-Length": str(record.size), "Content-Type": download_type(record.content_type)},
        )

    async def delete_file(self, *, file_id: uuid.UUID, principal: Principal) -> None:
        async with self._sessions.write.begin() as session:
            deleted = await FileRepository(session).delete_owned(file_id, principal.subject)
        if not deleted:
            raise UnknownFileError(file_id)
        # Row first, then bytes: a failure between the two leaves an unreachable file, never a row without bytes.
        await self.remove_contents([file_id])

    async def delete_rows_of_owner(self, session: AsyncSession, owner_id: uuid.UUID) -> list[uuid.UUID]:
        """Delete the owner's file rows in the caller's transaction (a user's deletion): all of them go with the
        user, or none do. Their bytes are removed afterwards with ``remove_contents``, once that has committed."""
        return await FileRepository(session).delete_all_owned(owner_id)

    async def remove_contents(self, file_ids: list[uuid.UUID]) -> None:
        """Remove the stored bytes of files whose rows are gone (rows first: never a row without its bytes)."""
        for file_id in file_ids:
            if not await self._storage.remove(file_id):
                logger.warning("file %s was deleted, but its content was already missing on disk", file_id)

    async def _owned(self, file_id: uuid.UUID, principal: Principal) -> FileRecord:
        async with self._sessions.read() as session:
            record = await FileRepository(session).owned(file_id, principal.subject)
        if record is None:
            raise UnknownFileError(file_id)
        return record


def download_headers(record: FileRecord) -> dict[str, str]:
    """The validators and description of a file's content; a file never changes, so it was last modified when
    it was uploaded."""
    return {
        "ETag": content_etag(record),
        "Last-Modified": http_date(record.created_at),
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(record.filename),
    }


def not_modified_headers(headers: dict[str, str]) -> dict[str, str]:
    # RFC 9110 §15.4.5: a 304 carries the validators a 200 would have.
    return {"ETag": headers["ETag"], "Last-Modified": headers["Last-Modified"]}


def download_type(content_type: str) -> str:
    # As Starlette labels a text response sent with this media type.
    if content_type.startswith("text/") and "charset=" not in content_type:
        return f"{content_type}; charset=utf-8"
    return content_type
