"""The upload allow-list is judged by the first bytes of the content, never by a name or a declared type."""

from __future__ import annotations

import pytest

from impl.files.content_types import SNIFF_BYTES, sniff

pytestmark = pytest.mark.unit

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (PNG, "image/png"),
        (JPEG, "image/jpeg"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (WEBP, "image/webp"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"plain notes\n", "text/plain"),
        ("Grüße, 世界 \t tabs\r\n".encode(), "text/plain"),
        (b"\xef\xbb\xbfwith a byte-order mark", "text/plain"),
    ],
)
def test_accepted_types_are_recognised_by_their_signature(head: bytes, media_type: str) -> None:
    assert sniff(head, complete=True) == media_type


@pytest.mark.parametrize(
    "head",
    [
        b"\x7fELF\x02\x01\x01\x00\x00\x00",  # an executable
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows executable
        b"PK\x03\x04\x14\x00\x00\x00",  # a zip (and every office document)
        b"<!DOCTYPE html><script>alert(1)</script>",  # HTML is text, but a browser renders it
        b"  \n<svg xmlns='http://www.w3.org/2000/svg'/>",  # so is SVG, after blanks
        b"\xef\xbb\xbf<html>",  # and after a byte-order mark
        b"text with a NUL \x00 in it",
        b"text with an escape \x1b[31m",
        b"\xff\xfe not UTF-8",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",  # RIFF, but audio
        b"",
    ],
)
def test_anything_else_is_refused(head: bytes) -> None:
    assert sniff(head, complete=True) is None


def test_a_character_cut_at_the_end_of_the_window_is_text_but_a_cut_file_is_not() -> None:
    cut = ("a" * (SNIFF_BYTES - 1)).encode() + "é".encode()[:1]
    assert sniff(cut, complete=False) == "text/plain"  # the rest of the character is still to come
    assert sniff(b"abc" + "é".encode()[:1], complete=True) is None  # the file really ends mid-character


def test_only_the_window_decides_text() -> None:
    # Bytes past SNIFF_BYTES are not looked at: a long log file with a stray byte late on is still text.
    head = b"a" * SNIFF_BYTES + b"\x00"
    assert sniff(head, complete=False) == "text/plain"
