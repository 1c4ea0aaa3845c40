"""The users export: every user as NDJSON or CSV, streamed from the database with constant memory.

Why keyset chunks rather than one server-side cursor: a cursor keeps a connection (and, on PostgreSQL, a transaction
whose snapshot holds back VACUUM) checked out for as long as the slowest client takes to download, and a few slow
downloads would drain the pool for everyone. Each chunk here is one short read transaction (``WHERE id > last ORDER
BY id LIMIT n``, an index range scan), and the connection goes back to the pool while the chunk is being sent. The
price is that the export is not one snapshot: a user changed during a long download shows its state when its chunk
was read. Every user that exists throughout the export appears exactly once (ids never change), which is what an
export promises. The same query works on SQLite and PostgreSQL.

Memory stays constant: one chunk of rows and its encoded text at a time, and the client's pace sets ours (the
server's send waits while the socket is full). When the client goes away, Starlette cancels the response and
:class:`ClosingStreamingResponse` closes the generator at once, so no further query runs.
"""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Literal

from starlette.responses import StreamingResponse

from impl.platform.db.engine import Sessions
from impl.platform.streaming_response import ClosingStreamingResponse
from impl.users.models import UserRecord
from impl.users.repository import UserRepository
from impl.users.representation import view

logger = logging.getLogger("charter.users.export")

Format = Literal["ndjson", "csv"]
CHUNK_SIZE = 500
CSV_COLUMNS = ("id", "email", "name", "role", "active", "created_at", "updated_at")
MEDIA_TYPES: dict[Format, str] = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def guard_formula(cell: str) -> str:
    """Prefix a cell a spreadsheet would evaluate with ``'``, so it is shown as text."""
    return f"'{cell}" if cell.startswith(FORMULA_TRIGGERS) else cell


def ndjson_lines(records: list[UserRecord], *, first: bool = False) -> bytes:
    return b"".join(view(record).model_dump_json().encode() + b"\n" for record in records)


def csv_rows(records: list[UserRecord], *, first: bool) -> bytes:
    """CSV lines for ``records``, after the header row when ``first``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF line breaks, quotes only where needed
    if first:
        writer.writerow(CSV_COLUMNS)
    for record in records:
        values = view(record).model_dump(mode="json")
        values["active"] = "true" if values["active"] else "false"
        writer.writerow(guard_formula(str(values[column])) for column in CSV_COLUMNS)
    return buffer.getvalue().encode()


ENCODERS: dict[Format, Callable[..., bytes]] = {"ndjson": ndjson_lines, "csv": csv_rows}


class UsersExport:
    """Builds export responses; ``chunk_size`` rows per query (each query in its own short read transaction)."""

    def __init__(self, *, sessions: Sessions, chunk_size: int = CHUNK_SIZE) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._sessions = sessions
        self._chunk_size = chunk_size

    def response(self, format: Format) -> StreamingResponse:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return ClosingStreamingResponse(
            self._encoded(format),
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="users-{stamp}.{format}"'},
        )

    async def _encoded(self, format: Format) -> AsyncGenerator[bytes, None]:
        encode = ENCODERS[format]
        rows, chunks, finished = 0, 0, False
        after: uuid.UUID | None = None
        try:
            while True:
                # A fresh short read transaction per chunk; nothing is held open while the chunk is being sent.
                async with self._sessions.read() as session:
                    records = await UserRepository(session).export_chunk(after=after, limit=self._chunk_size)
                logger.debug("export chunk: %d rows after %s", len(records), after)
                if records or chunks == 0:  # an empty export is still a CSV with its header row
                    yield encode(records, first=chunks == 0)
                chunks += 1
                rows += len(records)
                if len(records) < self._chunk_size:
                    break
                after = records[-1].id
            finished = True
        finally:
            # Runs on completion, on a database error, and when the client went away (the response closes us).
            outcome = "finished" if finished else "stopped early (client gone or error)"
            logger.info("users export %s: %d rows in %d chunks (%s)", outcome, rows, chunks, format)
