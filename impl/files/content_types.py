"""The upload allow-list, judged by a file's first bytes ("magic numbers"), never by its name or declared type.

A client controls the file name and the part's Content-Type, so neither says anything about what the bytes are;
what a browser would do with them does. Accepted:

- ``image/png``, ``image/jpeg``, ``image/gif``, ``image/webp``, ``application/pdf``: by their signatures.
- ``text/plain``: the first :data:`SNIFF_BYTES` decode as UTF-8 (an optional BOM allowed; a multi-byte character
  cut at the window's end is fine) and hold no control character but TAB, LF, FF and CR -- so no NUL, which every
  executable and most binary formats contain. Text whose first non-blank character is ``<`` is refused: that is
  markup (HTML, SVG, XML) that a browser could render as a page if it ever ignored ``nosniff``.

Everything else (executables, archives, HTML, SVG, office documents ...) is refused with 415.
"""

from __future__ import annotations

import codecs

# How much of the file decides its type; the upload is judged as soon as this much (or all of it) has arrived.
SNIFF_BYTES = 8 * 1024

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
_ALLOWED_CONTROLS = frozenset("\t\n\f\r")
_BOM = "\ufeff"


def sniff(head: bytes, *, complete: bool) -> str | None:
    """The accepted media type of a file starting with ``head``, or None when it is not one we accept.

    ``complete`` says ``head`` is the whole file (so a truncated UTF-8 sequence at its end is an error).
    """
    if not head:
        return None  # nothing is no type at all
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return "text/plain" if _is_plain_text(head[:SNIFF_BYTES], complete=complete and len(head) <= SNIFF_BYTES) else None


def _is_plain_text(head: bytes, *, complete: bool) -> bool:
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    if any((char < " " and char not in _ALLOWED_CONTROLS) or char == "\x7f" for char in text):
        return False
    return not text.lstrip(_BOM).lstrip().startswith("<")
