"""Client file names become harmless metadata, and come back in Content-Disposition (RFC 6266 / 8187)."""

from __future__ import annotations

import pytest

from impl.files.filenames import FALLBACK_FILENAME, MAX_FILENAME_LENGTH, content_disposition, sanitize_filename

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("C:\\Users\\me\\photo.png", "photo.png"),
        ("/absolute/path/report.pdf", "report.pdf"),
        ("evil\x00.png", "evil.png"),
        ("line\r\nbreak.txt", "linebreak.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),  # a right-to-left override would show "exe.png"
        ("  spaced.txt  ", "spaced.txt"),
        ("Grüße 世界.txt", "Grüße 世界.txt"),
        ("Cafe\u0301.txt", "Café.txt"),  # normalised to NFC
        ("..", FALLBACK_FILENAME),
        ("../", FALLBACK_FILENAME),
        ("\x00\x01", FALLBACK_FILENAME),
        ("", FALLBACK_FILENAME),
    ],
)
def test_names_lose_directories_and_invisible_characters(raw: str, kept: str) -> None:
    assert sanitize_filename(raw) == kept


def test_long_names_are_cut_to_255_characters_keeping_the_extension() -> None:
    name = sanitize_filename("x" * 1000 + ".png")
    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith(".png")
    assert len(sanitize_filename("y" * 1000)) == MAX_FILENAME_LENGTH
    assert len(sanitize_filename("界" * 300)) == MAX_FILENAME_LENGTH  # characters, not bytes


def test_an_ascii_name_appears_as_is_in_both_parameters() -> None:
    assert content_disposition("notes.txt") == "attachment; filename=\"notes.txt\"; filename*=UTF-8''notes.txt"


def test_a_unicode_name_gets_an_ascii_fallback_and_the_exact_name_percent_encoded() -> None:
    assert content_disposition("Grüße 世界.txt") == (
        "attachment; filename=\"Gru_e __.txt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%E4%B8%96%E7%95%8C.txt"
    )


def test_quotes_and_backslashes_cannot_break_out_of_the_quoted_fallback() -> None:
    header = content_disposition('a"b\\c;d.txt')
    assert header.startswith('attachment; filename="a_b_c;d.txt"; ')
    assert header.endswith("filename*=UTF-8''a%22b%5Cc%3Bd.txt")


def test_a_name_with_nothing_ascii_falls_back_to_a_generic_name() -> None:
    assert content_disposition("世界").startswith(f'attachment; filename="{FALLBACK_FILENAME}"; ')
