"""Client-supplied file names: made safe to keep as metadata, and sent back in Content-Disposition (RFC 6266).

The name never becomes a path (files are stored under generated ids), but it is shown to people and echoed in a
header, so it loses any directory part, control and format characters (a right-to-left override can disguise
``exe`` as ``gnp``), and is bounded in length.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

MAX_FILENAME_LENGTH = 255
FALLBACK_FILENAME = "file"
# Unicode categories removed from names: controls (Cc), format characters such as bidi overrides (Cf), line and
# paragraph separators (Zl, Zp), surrogates and unassigned or private-use code points (Cs, Cn, Co).
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn", "Co"})


def sanitize_filename(raw: str) -> str:
    """The last path component of ``raw`` without unsafe characters, 1 to 255 characters long."""
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char) not in _REMOVED_CATEGORIES).strip()
    if name in ("", ".", ".."):
        return FALLBACK_FILENAME
    if len(name) > MAX_FILENAME_LENGTH:
        stem, dot, extension = name.rpartition(".")
        # Keep a short extension: the name should still say what kind of file it is.
        if dot and stem and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME_LENGTH - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_FILENAME_LENGTH].rstrip()
    return name


def _ascii_fallback(name: str) -> str:
    # For clients without RFC 8187 support: accents dropped (é -> e), anything else non-ASCII, quotes and
    # backslashes (which would end or escape the quoted-string) replaced.
    decomposed = unicodedata.normalize("NFKD", name)
    chars = []
    for char in decomposed:
        if unicodedata.combining(char):
            continue
        chars.append(char if " " <= char <= "~" and char not in '"\\' else "_")
    fallback = "".join(chars).strip()
    return fallback if fallback.strip("_. ") else FALLBACK_FILENAME


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact name as UTF-8 in ``filename*`` (RFC 6266, 8187)."""
    return f"attachment; filename=\"{_ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
