"""A file owner: upload (multipart) → metadata → list → download → revalidate (304) → a range (206) → delete.

The run keeps a ledger of uploaded files until the journey deletes them, so cleanup can delete what a stopped
journey left (as its owner: files are private to them).
"""

from __future__ import annotations

import random
import secrets

from locust import task

from load.journeys.calls import bearer, call, etag_of
from load.journeys.data import multipart
from load.journeys.member import Member
from load.run_state import run_state

# A small PNG header and text: the service judges the type by the first bytes.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)


class FileOwner(Member):
    weight = 2

    def on_start(self) -> None:
        self.sign_up("files")

    @task
    def file_life(self) -> None:
        if not self.signed_in() or self.credentials is None:
            return
        size = random.choice([512, 4096, 32768])  # noqa: S311  # nosec B311
        if random.random() < 0.5:  # noqa: S311  # nosec B311
            content, name, kind = secrets.token_hex(size // 2).encode(), "notes.txt", "text/plain"
        else:
            content, name, kind = PNG + bytes(size), "picture.png", "image/png"
        body, content_type = multipart("file", name, content, kind)
        uploaded = call(
            self.client,
            "POST",
            "/api/v1/files",
            name="uploadFile",
            expect=(201,),
            data=body,
            headers=bearer(self.access_token, **{"Content-Type": content_type}),
        )
        if uploaded is None:
            return
        file_id = str(uploaded.json()["id"])
        ledger = run_state(self.environment).files
        ledger[file_id] = self.credentials
        path = f"/api/v1/files/{file_id}"
        self.think()
        call(self.client, "GET", path, name="getFileMetadata", headers=self.auth)
        call(self.client, "GET", "/api/v1/files?limit=20", name="listFiles", headers=self.auth)
        self.think()
        download = call(
            self.client,
            "GET",
            f"{path}/content",
            name="downloadFile",
            headers=self.auth,
            check=lambda r: None if r.content == content else "other bytes than were uploaded",
        )
        if download is not None:
            etag = etag_of(download)
            call(
                self.client,
                "GET",
                f"{path}/content",
                name="downloadFile",
                expect=(304,),
                headers=bearer(self.access_token, **{"If-None-Match": etag}),
            )
            call(
                self.client,
                "GET",
                f"{path}/content",
                name="downloadFile",
                expect=(206,),
                headers=bearer(self.access_token, Range="bytes=0-99"),
            )
            call(
                self.client,
                "HEAD",
                f"{path}/content",
                name="headFileContent",
                check=lambda r: (
                    None if r.headers and r.headers.get("Content-Length") == str(len(content)) else "no length"
                ),
                headers=self.auth,
            )
        self.think()
        if call(self.client, "DELETE", path, name="deleteFile", expect=(204,), headers=self.auth) is not None:
            ledger.pop(file_id, None)
