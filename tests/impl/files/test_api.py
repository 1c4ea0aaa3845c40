"""The files API over a real socket, on SQLite and PostgreSQL: upload, list, read, download, delete."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx2 as httpx
import pytest

from tests.conftest import bearer
from tests.impl.files.conftest import (
    FILES,
    PNG,
    admin_token,
    files_root,
    new_user_token,
    stored,
    upload,
    uploaded,
)
from tests.live_server import LiveServer

TEXT = b"".join(f"line {n:05d}\n".encode() for n in range(8000))  # 88 000 bytes of text


def test_an_upload_round_trips_byte_for_byte(server: LiveServer, token: str) -> None:
    content = PNG + os.urandom(200_000)
    response = upload(server, token, content, filename="holiday.png", part_type="application/octet-stream")
    assert response.status_code == 201
    metadata = response.json()
    assert response.headers["location"] == f"{FILES}/{metadata['id']}"
    assert response.headers["etag"].startswith('"')
    assert metadata["filename"] == "holiday.png"
    assert metadata["content_type"] == "image/png"  # from the content, not the part's declared type
    assert metadata["size"] == len(content)
    assert metadata["sha256"] == hashlib.sha256(content).hexdigest()

    read = httpx.get(f"{server.url}{response.headers['location']}", headers=bearer(token))
    assert read.status_code == 200
    assert read.json() == metadata
    assert read.headers["etag"] == response.headers["etag"]

    download = httpx.get(f"{server.url}{FILES}/{metadata['id']}/content", headers=bearer(token))
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == metadata["sha256"]
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-length"] == str(len(content))
    assert download.headers["accept-ranges"] == "bytes"
    assert download.headers["etag"] == f'"{metadata["sha256"]}"'
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"holiday.png\"; filename*=UTF-8''holiday.png"
    )


def test_text_is_served_as_utf8_text(server: LiveServer, token: str) -> None:
    metadata = uploaded(server, token, TEXT)
    download = httpx.get(f"{server.url}{FILES}/{metadata['id']}/content", headers=bearer(token))
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.content == TEXT


def test_files_uploaded_in_one_second_list_in_the_order_they_came(server: LiveServer, token: str) -> None:
    # Timestamps keep their microseconds: the id (random) only breaks a tie within one microsecond.
    sent = [uploaded(server, token, f"burst {n}".encode(), filename=f"burst-{n}.txt")["id"] for n in range(9)]
    listed = httpx.get(f"{server.url}{FILES}", headers=bearer(token), params={"limit": 100}).json()["items"]
    assert [item["id"] for item in listed if item["id"] in sent] == sent[::-1]  # newest first


def test_my_files_are_listed_newest_first_a_page_at_a_time(server: LiveServer, token: str) -> None:
    mine = [uploaded(server, token, f"file {n}".encode(), filename=f"{n}.txt") for n in range(5)]
    uploaded(server, new_user_token(server), b"someone else's")  # never in my list
    seen: list[dict[str, object]] = []
    url: str | None = f"{server.url}{FILES}?limit=2"
    while url is not None:
        response = httpx.get(url, headers=bearer(token))
        page = response.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        # The users' shape: the next page's URL in the body and in Link, both absent on the last page.
        if page["next"] is None:
            assert "link" not in response.headers
            url = None
        else:
            assert page["next"].startswith(f"{FILES}?")
            assert response.headers["link"] == f'<{page["next"]}>; rel="next"'
            url = f"{server.url}{page['next']}"
    # Newest first; a tie in created_at is ordered by id, so the order is total and stable.
    newest_first = sorted(mine, key=lambda item: (str(item["created_at"]), str(item["id"])), reverse=True)
    assert seen == newest_first


def test_a_cursor_this_service_did_not_issue_is_invalid(server: LiveServer, token: str) -> None:
    response = httpx.get(f"{server.url}{FILES}", headers=bearer(token), params={"cursor": "bm90LWEtY3Vyc29y"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"detail": "Not a cursor this service issued.", "parameter": "cursor"}]


@pytest.mark.parametrize("who", ["another user", "an admin"])
def test_someone_elses_file_does_not_exist_for_anyone_else(server: LiveServer, token: str, who: str) -> None:
    metadata = uploaded(server, token, b"private")
    other = bearer(new_user_token(server) if who == "another user" else admin_token(server))
    url = f"{server.url}{FILES}/{metadata['id']}"
    missing = httpx.get(f"{server.url}{FILES}/{uuid.uuid4()}", headers=other)
    for response in (
        httpx.get(url, headers=other),
        httpx.get(f"{url}/content", headers=other),
        httpx.delete(url, headers=other),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["title"] == missing.json()["title"]
    assert httpx.get(f"{url}/content", headers=bearer(token)).content == b"private"  # untouched


def test_every_operation_needs_a_token(server: LiveServer) -> None:
    file_url = f"{server.url}{FILES}/{uuid.uuid4()}"
    assert httpx.get(f"{server.url}{FILES}").status_code == 401
    assert httpx.post(f"{server.url}{FILES}", files={"file": ("a.txt", b"a")}).status_code == 401
    assert httpx.get(file_url).status_code == 401
    assert httpx.get(f"{file_url}/content").status_code == 401
    assert httpx.delete(file_url).status_code == 401


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("evil.png", b"\x7fELF\x02\x01\x01" + bytes(100)),
        ("page.txt", b"<!doctype html><script>alert(document.cookie)</script>"),
        ("image.gif", b"PK\x03\x04" + bytes(20_000)),
    ],
)
def test_content_outside_the_allow_list_is_refused_whatever_its_name(
    server: LiveServer, token: str, filename: str, content: bytes
) -> None:
    before = stored(server)
    response = upload(server, token, content, filename=filename, part_type="image/png")
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(server) == before


def test_a_body_that_is_not_a_form_is_refused(server: LiveServer, token: str) -> None:
    response = httpx.post(f"{server.url}{FILES}", headers=bearer(token), json={"file": "hello"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'--B\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--B--\r\n', 400),
        (b'--B\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--B--\r\n', 400),
        (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nhalf a bo', 400),
        (
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nx\r\n'
            b'--B\r\nContent-Disposition: form-data; name="file"; filename="b"\r\n\r\ny\r\n--B--\r\n',
            400,
        ),
        (b"--B--\r\n", 400),
        (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\n\r\n--B--\r\n', 422),
    ],
    ids=["another-part", "no-filename", "truncated", "two-files", "no-parts", "empty-file"],
)
def test_a_form_that_is_not_one_non_empty_file_is_refused(
    server: LiveServer, token: str, body: bytes, status: int
) -> None:
    before = stored(server)
    headers = {**bearer(token), "Content-Type": "multipart/form-data; boundary=B"}
    response = httpx.post(f"{server.url}{FILES}", headers=headers, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert stored(server) == before


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("nul\x00byte.txt", "nulbyte.txt"),
        ("x" * 400 + ".txt", "x" * 251 + ".txt"),
        ("Grüße 世界.txt", "Grüße 世界.txt"),
    ],
)
def test_a_file_name_is_metadata_only_and_cannot_reach_outside_the_store(
    server: LiveServer, token: str, sent: str, kept: str
) -> None:
    # The multipart part is built by hand: a client library would refuse or escape some of these names.
    name = sent.replace("\\", "\\\\").encode()
    body = b'--B\r\nContent-Disposition: form-data; name="file"; filename="' + name + b'"\r\n\r\ncontent\r\n--B--\r\n'
    headers = {**bearer(token), "Content-Type": "multipart/form-data; boundary=B"}
    response = httpx.post(f"{server.url}{FILES}", headers=headers, content=body)
    assert response.status_code == 201, response.text
    metadata = response.json()
    assert metadata["filename"] == kept
    path = files_root(server) / metadata["id"][:2] / metadata["id"]
    assert path.read_bytes() == b"content"  # stored under its generated id, nowhere else


def test_a_name_with_a_line_break_loses_it_and_is_encoded_once(server: LiveServer, token: str) -> None:
    # The client library escapes CR, LF and '"' as the HTML standard says (%0D, %0A, %22); the service undoes that.
    metadata = uploaded(server, token, b"report", filename='q3\r\n"final".txt')
    assert metadata["filename"] == 'q3"final".txt'
    download = httpx.get(f"{server.url}{FILES}/{metadata['id']}/content", headers=bearer(token))
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"q3_final_.txt\"; filename*=UTF-8''q3%22final%22.txt"
    )


def test_a_unicode_name_comes_back_in_content_disposition(server: LiveServer, token: str) -> None:
    metadata = uploaded(server, token, b"bonjour", filename="résumé €.txt")
    download = httpx.get(f"{server.url}{FILES}/{metadata['id']}/content", headers=bearer(token))
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"resume _.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.txt"
    )


@pytest.fixture
def text_file(server: LiveServer, token: str) -> str:
    """The content URL of a text file of the caller's (TEXT)."""
    return f"{server.url}{FILES}/{uploaded(server, token, TEXT)['id']}/content"


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [("bytes=0-99", 0, 99), ("bytes=-100", len(TEXT) - 100, len(TEXT) - 1), ("bytes=80000-", 80000, len(TEXT) - 1)],
    ids=["first-bytes", "suffix", "open-ended"],
)
def test_one_range_answers_206_with_those_bytes(text_file: str, token: str, header: str, first: int, last: int) -> None:
    response = httpx.get(text_file, headers={**bearer(token), "Range": header})
    assert response.status_code == 206
    assert response.content == TEXT[first : last + 1]
    assert response.headers["content-range"] == f"bytes {first}-{last}/{len(TEXT)}"
    assert response.headers["content-length"] == str(last - first + 1)
    assert response.headers["etag"] == f'"{hashlib.sha256(TEXT).hexdigest()}"'


def test_a_range_past_the_end_is_416_with_the_size(text_file: str, token: str) -> None:
    response = httpx.get(text_file, headers={**bearer(token), "Range": f"bytes={len(TEXT)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(TEXT)}"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("header", ["bytes=0-1,10-11", "lines=1-2", "bytes=9-1"])
def test_several_ranges_or_an_invalid_one_get_the_whole_file(text_file: str, token: str, header: str) -> None:
    response = httpx.get(text_file, headers={**bearer(token), "Range": header})
    assert response.status_code == 200
    assert response.content == TEXT


def test_if_range_honours_the_range_only_for_the_current_etag(text_file: str, token: str) -> None:
    etag = httpx.get(text_file, headers=bearer(token)).headers["etag"]
    current = httpx.get(text_file, headers={**bearer(token), "Range": "bytes=0-9", "If-Range": etag})
    assert (current.status_code, current.content) == (206, TEXT[:10])
    changed = httpx.get(text_file, headers={**bearer(token), "Range": "bytes=0-9", "If-Range": '"other"'})
    assert (changed.status_code, changed.content) == (200, TEXT)
    weak = httpx.get(text_file, headers={**bearer(token), "Range": "bytes=0-9", "If-Range": f"W/{etag}"})
    assert weak.status_code == 200  # If-Range needs a strong match


def test_a_current_copy_is_not_sent_again(text_file: str, token: str) -> None:
    etag = httpx.get(text_file, headers=bearer(token)).headers["etag"]
    response = httpx.get(text_file, headers={**bearer(token), "If-None-Match": f'"stale", {etag}'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert httpx.get(text_file, headers={**bearer(token), "If-None-Match": '"stale"'}).status_code == 200


def test_the_content_is_dated_by_its_upload_and_a_304_keeps_the_date(text_file: str, token: str) -> None:
    whole = httpx.get(text_file, headers=bearer(token))
    last_modified = whole.headers["last-modified"]
    assert parsedate_to_datetime(last_modified) <= datetime.now(UTC)

    not_modified = httpx.get(text_file, headers={**bearer(token), "If-None-Match": whole.headers["etag"]})
    assert not_modified.status_code == 304
    # The spec's NotModified response requires both validators.
    assert (not_modified.headers["etag"], not_modified.headers["last-modified"]) == (
        whole.headers["etag"],
        last_modified,
    )
    ranged = httpx.get(text_file, headers={**bearer(token), "Range": "bytes=0-9"})
    assert ranged.headers["last-modified"] == last_modified


def test_head_on_the_content_sends_the_download_headers_without_the_bytes(text_file: str, token: str) -> None:
    whole = httpx.get(text_file, headers=bearer(token))
    head = httpx.head(text_file, headers=bearer(token))

    assert head.status_code == 200
    assert head.content == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "accept-ranges", "content-disposition"):
        assert head.headers[name] == whole.headers[name], name
    assert head.headers["content-length"] == str(len(TEXT))
    revalidated = httpx.head(text_file, headers={**bearer(token), "If-None-Match": whole.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["last-modified"] == whole.headers["last-modified"]
    assert httpx.head(text_file.replace("/content", "x/content"), headers=bearer(token)).status_code in (404, 422)


def test_a_deleted_file_is_gone_from_the_api_and_the_disk(server: LiveServer, token: str) -> None:
    metadata = uploaded(server, token, b"short-lived")
    url = f"{server.url}{FILES}/{metadata['id']}"
    path = files_root(server) / str(metadata["id"])[:2] / str(metadata["id"])
    assert path.exists()
    assert httpx.delete(url, headers=bearer(token)).status_code == 204
    assert not path.exists()
    assert httpx.get(url, headers=bearer(token)).status_code == 404
    assert httpx.get(f"{url}/content", headers=bearer(token)).status_code == 404
    assert httpx.delete(url, headers=bearer(token)).status_code == 404


def test_a_file_whose_bytes_vanished_from_disk_answers_404(server: LiveServer, token: str) -> None:
    metadata = uploaded(server, token, b"soon lost")
    (files_root(server) / str(metadata["id"])[:2] / str(metadata["id"])).unlink()
    url = f"{server.url}{FILES}/{metadata['id']}"
    assert httpx.get(f"{url}/content", headers=bearer(token)).status_code == 404
    assert httpx.delete(url, headers=bearer(token)).status_code == 204  # the row can still be cleaned up
