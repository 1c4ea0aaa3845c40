"""A streaming ``multipart/form-data`` reader for uploads, on python-multipart's push parser.

Starlette's ``request.form()`` spools the whole body first; this reader is fed the body chunk by chunk as it
arrives and hands back the file's bytes as they are parsed, so the caller can count, sniff and write them (and stop
the moment the file is too large) without ever holding more than one network chunk in memory.

The form must hold exactly one part: ``file``, with a ``filename``. Part headers are bounded (count and line size)
by the parser; a body that ends before the closing boundary is malformed.
"""

from __future__ import annotations

import re

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from impl.files.errors import MalformedUploadError

FIELD_NAME = "file"
MAX_PART_HEADERS = 8
MAX_PART_HEADER_BYTES = 4096
# Room for the boundaries and part headers around the file: the request-size ceiling is the file limit plus this.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def boundary_of(content_type: str | None) -> bytes:
    media_type, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise MalformedUploadError("The request must be multipart/form-data with a boundary.")
    return boundary


class UploadReader:
    """Feed it the body with :meth:`feed`; it returns the file's bytes found in each chunk."""

    def __init__(self, content_type: str | None) -> None:
        self._parser = MultipartParser(
            boundary_of(content_type),
            callbacks={
                "on_part_begin": self._on_part_begin,
                "on_part_data": self._on_part_data,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_end": self._on_end,
            },
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_PART_HEADER_BYTES,
        )
        self.filename: str | None = None
        self._parts = 0
        self._ended = False
        self._field = bytearray()
        self._value = bytearray()
        self._headers: dict[str, bytes] = {}
        self._found: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """Parse ``chunk``; the file bytes it held (possibly none). Raises MalformedUploadError."""
        try:
            self._parser.write(chunk)
        except MultipartParseError as error:
            raise MalformedUploadError(f"The multipart body cannot be parsed: {error}.") from error
        found, self._found = self._found, []
        return found

    def finish(self) -> str:
        """Check the body ended properly and held the file; its (raw) filename."""
        if not self._ended:
            raise MalformedUploadError("The multipart body ended before its closing boundary.")
        if self.filename is None:
            raise MalformedUploadError(f"The form has no `{FIELD_NAME}` part.")
        return self.filename

    def _on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > 1:
            raise MalformedUploadError(f"The form must hold exactly one part, `{FIELD_NAME}`.")
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.decode("latin-1").strip().lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def _on_headers_finished(self) -> None:
        disposition, options = parse_options_header(self._headers.get("content-disposition", b""))
        name = options.get(b"name")
        if disposition != b"form-data" or name is None:
            raise MalformedUploadError("Every part needs `Content-Disposition: form-data` with a name.")
        if name != FIELD_NAME.encode():
            raise MalformedUploadError(f"Unexpected part {name.decode('latin-1')!r}; send only `{FIELD_NAME}`.")
        raw_filename = options.get(b"filename")
        if raw_filename is None:
            raise MalformedUploadError(f"The `{FIELD_NAME}` part must be a file, with a filename.")
        # Clients send the name's UTF-8 bytes as they are (RFC 7578 §4.2); the parser handed them over as latin-1.
        # Browsers and HTTP libraries escape only LF, CR and '"' in it, as %0A, %0D and %22 (the HTML standard's
        # multipart/form-data encoding): undone here, so the name is the one the user chose, and a percent-encoded
        # line break is not kept (and encoded again in Content-Disposition's filename*) but removed as a control.
        self.filename = unescape_form_filename(raw_filename.decode("utf-8", errors="replace"))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._found.append(data[start:end])

    def _on_end(self) -> None:
        self._ended = True


_FORM_ESCAPES = {"%0A": "\n", "%0D": "\r", "%22": '"'}
_FORM_ESCAPE = re.compile("%0A|%0D|%22", re.IGNORECASE)


def unescape_form_filename(name: str) -> str:
    """Undo the HTML standard's escaping of a multipart file name (LF, CR and '"' as %0A, %0D, %22); nothing else."""
    return _FORM_ESCAPE.sub(lambda match: _FORM_ESCAPES[match.group().upper()], name)
