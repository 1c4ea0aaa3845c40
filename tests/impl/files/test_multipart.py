"""The streaming multipart reader: exactly one `file` part with a filename, parsed chunk by chunk."""

from __future__ import annotations

import pytest

from impl.files.errors import MalformedUploadError
from impl.files.multipart import UploadReader

pytestmark = pytest.mark.unit

BOUNDARY = "----charter-test-boundary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def part(name: str = "file", filename: str | None = "notes.txt", body: bytes = b"hello", extra: str = "") -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{extra}Content-Type: text/plain\r\n\r\n"
    return head.encode() + body + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def read(body: bytes, *, chunk: int = 7) -> tuple[str, bytes]:
    reader = UploadReader(CONTENT_TYPE)
    data = b"".join(b"".join(reader.feed(body[i : i + chunk])) for i in range(0, len(body), chunk))
    return reader.finish(), data


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_the_file_part_is_read_however_the_body_is_chunked(chunk: int) -> None:
    payload = bytes(range(256)) * 40 + b"\r\n--not-the-boundary\r\n"
    assert read(form(part(body=payload)), chunk=chunk) == ("notes.txt", payload)


def test_the_filename_arrives_as_the_utf8_the_client_sent() -> None:
    body = form(part(filename="Grüße 世界.txt"))
    assert read(body)[0] == "Grüße 世界.txt"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (form(), "no `file` part"),
        (form(part(name="other")), "Unexpected part 'other'"),
        (form(part(), part()), "exactly one part"),
        (form(part(filename=None)), "must be a file"),
        (part(), "ended before its closing boundary"),
        (b"garbage without any boundary", "cannot be parsed"),
        (form(part(extra="".join(f"X-{i}: y\r\n" for i in range(10)))), "cannot be parsed"),
        (form(part(extra="X-Long: " + "y" * 5000 + "\r\n")), "cannot be parsed"),
    ],
)
def test_a_form_that_is_not_exactly_one_file_is_malformed(body: bytes, message: str) -> None:
    with pytest.raises(MalformedUploadError, match=message):
        read(body)


@pytest.mark.parametrize(
    "content_type", [None, "multipart/form-data", "application/json; boundary=x", "multipart/mixed; boundary=x"]
)
def test_a_body_without_a_form_data_boundary_is_malformed(content_type: str | None) -> None:
    with pytest.raises(MalformedUploadError, match="boundary"):
        UploadReader(content_type)
