"""Byte ranges (RFC 9110 §14): the one range of a ``Range`` header that this service serves.

Only a single range is served. Several ranges (which would need a ``multipart/byteranges`` body), another unit, or
a header that does not parse are ignored -- RFC 9110 lets a server ignore ``Range``, and the client then gets the
whole file with 200. A well-formed single range that starts past the end is unsatisfiable: 416.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)
# More digits than any file can need: a longer number is not worth parsing.
_MAX_DIGITS = 19


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``first`` to ``last``, both inclusive, of a file of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    @property
    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


class RangeNotSatisfiableError(Exception):
    """The range is well formed but selects no byte of the file."""


def parse_range(header: str, size: int) -> ByteRange | None:
    """The range to send, or None to send the whole file; raises RangeNotSatisfiableError (416)."""
    match = _SINGLE.fullmatch(header)
    if match is None:
        return None  # several ranges, another unit, or not a range at all
    first_text, last_text = match.groups()
    if len(first_text) > _MAX_DIGITS or len(last_text) > _MAX_DIGITS:
        return None
    if not first_text:
        if not last_text:
            return None  # "bytes=-" is no range
        suffix = int(last_text)  # bytes=-n: the last n bytes
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError
        return ByteRange(first=max(size - suffix, 0), last=size - 1, size=size)
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # invalid (RFC 9110 §14.1.1): ignored
    if first >= size:
        raise RangeNotSatisfiableError
    last = min(int(last_text), size - 1) if last_text else size - 1
    return ByteRange(first=first, last=last, size=size)
