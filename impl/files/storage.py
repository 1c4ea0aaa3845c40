"""Files on disk: ``<data_dir>/files/<2-hex shard>/<uuid>``, written under a temporary name and renamed into place.

Paths are built from generated UUIDs only -- never from anything a client sent -- so no name can reach outside the
store. An upload is written to ``.<uuid>.part`` next to its final place and ``os.replace``d (atomic on one file
system) once complete: a reader never sees half a file, and a crash leaves only ``.part`` files, which
:meth:`FileStorage.sweep_temporaries` removes. Every disk operation runs in a worker thread.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import BinaryIO

import anyio
from anyio import to_thread

TEMPORARY_SUFFIX = ".part"
# Chunks from the network are small (often a few KiB); gathering them makes one thread hop per 256 KiB.
WRITE_BUFFER_BYTES = 256 * 1024


class PendingFile:
    """A file being received: buffered, hashed and written in a worker thread; then committed or discarded."""

    def __init__(self, *, handle: BinaryIO, temporary: Path, final: Path) -> None:
        self._handle = handle
        self.temporary = temporary
        self.final = final
        self.size = 0
        self._digest = hashlib.sha256()
        self._buffer = bytearray()

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    async def write(self, data: bytes) -> None:
        self.size += len(data)
        self._buffer += data
        if len(self._buffer) >= WRITE_BUFFER_BYTES:
            await self._flush()

    async def commit(self) -> None:
        """Flush, make durable and move into place; afterwards the file is at ``final``."""
        await self._flush()
        await to_thread.run_sync(self._commit_sync)

    async def discard(self) -> None:
        """Close and delete the temporary file; safe to call at any point, also after a commit (then a no-op)."""
        # Shielded: this is cleanup, and it runs also when the upload is being cancelled.
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(self._discard_sync)

    async def _flush(self) -> None:
        if not self._buffer:
            return
        chunk, self._buffer = bytes(self._buffer), bytearray()
        await to_thread.run_sync(self._write_sync, chunk)

    def _write_sync(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self._handle.write(chunk)

    def _commit_sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.temporary, self.final)

    def _discard_sync(self) -> None:
        if not self._handle.closed:
            self._handle.close()
        self.temporary.unlink(missing_ok=True)


class FileStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, file_id: uuid.UUID) -> Path:
        name = str(file_id)  # canonical form: 36 characters of hex digits and dashes, nothing else
        return self.root / name[:2] / name

    async def create(self, file_id: uuid.UUID) -> PendingFile:
        return await to_thread.run_sync(self._create_sync, file_id)

    async def open(self, file_id: uuid.UUID) -> BinaryIO:
        """The stored file, open for reading; raises FileNotFoundError (OSError) when it is not on disk."""
        return await to_thread.run_sync(self._open_sync, file_id)

    async def remove(self, file_id: uuid.UUID) -> bool:
        """Delete the stored file; False when it was not there."""
        return await to_thread.run_sync(self._remove_sync, file_id)

    async def sweep_temporaries(self, *, older_than_seconds: float = 3600.0) -> int:
        """Delete the ``.part`` files of uploads a crash interrupted. Only old ones: another worker process may be
        receiving an upload right now, and its file is fresh."""
        return await to_thread.run_sync(self._sweep_sync, older_than_seconds)

    def _create_sync(self, file_id: uuid.UUID) -> PendingFile:
        final = self.path_of(file_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary = final.with_name(f".{final.name}{TEMPORARY_SUFFIX}")
        # O_EXCL: a name is never shared, even if two uploads drew the same id; 0600: only the service reads it.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        return PendingFile(handle=os.fdopen(descriptor, "wb"), temporary=temporary, final=final)

    def _open_sync(self, file_id: uuid.UUID) -> BinaryIO:
        return self.path_of(file_id).open("rb")

    def _remove_sync(self, file_id: uuid.UUID) -> bool:
        try:
            self.path_of(file_id).unlink()
        except FileNotFoundError:
            return False
        return True

    def _sweep_sync(self, older_than_seconds: float) -> int:
        if not self.root.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than_seconds
        for leftover in self.root.glob(f"*/.*{TEMPORARY_SUFFIX}"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # finished (or swept) meanwhile
        return removed
