"""Files on disk: generated paths only, written under a temporary name and renamed into place atomically."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from pathlib import Path

import pytest

from impl.files.storage import WRITE_BUFFER_BYTES, FileStorage

pytestmark = pytest.mark.unit


def regular_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_a_committed_file_lands_in_its_shard_with_its_hash_and_size(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    file_id = uuid.uuid4()
    content = os.urandom(WRITE_BUFFER_BYTES * 2 + 123)  # several buffered writes and a remainder

    async def scenario() -> None:
        pending = await storage.create(file_id)
        for start in range(0, len(content), 1000):
            await pending.write(content[start : start + 1000])
        assert pending.temporary.exists()
        assert not pending.final.exists()  # readers never see half a file
        await pending.commit()
        await pending.discard()  # after a commit: nothing to do
        assert pending.size == len(content)
        assert pending.sha256 == hashlib.sha256(content).hexdigest()

    asyncio.run(scenario())
    path = tmp_path / str(file_id)[:2] / str(file_id)
    assert regular_files(tmp_path) == [path]
    assert path.read_bytes() == content
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_discarded_file_leaves_nothing_behind(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)

    async def scenario() -> None:
        pending = await storage.create(uuid.uuid4())
        await pending.write(b"x" * (WRITE_BUFFER_BYTES + 1))
        await pending.discard()

    asyncio.run(scenario())
    assert regular_files(tmp_path) == []


def test_open_and_remove_report_a_missing_file(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)
    file_id = uuid.uuid4()

    async def scenario() -> None:
        pending = await storage.create(file_id)
        await pending.write(b"content")
        await pending.commit()
        with await storage.open(file_id) as handle:
            assert handle.read() == b"content"
        assert await storage.remove(file_id) is True
        assert await storage.remove(file_id) is False
        try:
            await storage.open(file_id)
        except FileNotFoundError:
            return
        raise AssertionError("a removed file opened")

    asyncio.run(scenario())


def test_the_sweep_removes_only_old_temporaries(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path)

    async def scenario() -> tuple[Path, Path]:
        old, fresh = await storage.create(uuid.uuid4()), await storage.create(uuid.uuid4())
        await old.discard()  # closes it; recreate the crash leftover by hand below
        old.temporary.write_bytes(b"left by a crash")
        an_hour_ago = time.time() - 7200
        os.utime(old.temporary, (an_hour_ago, an_hour_ago))
        assert await storage.sweep_temporaries() == 1
        assert fresh.temporary.exists()  # another worker's upload in progress is left alone
        await fresh.discard()
        return old.temporary, fresh.temporary

    old, _ = asyncio.run(scenario())
    assert not old.exists()
    assert asyncio.run(FileStorage(tmp_path / "absent").sweep_temporaries()) == 0
