"""A throw-away PostgreSQL cluster of the test's own (initdb into a temporary directory, a free loopback port), for
fault tests that crash the database and bring it back on the same port and data directory.

Never the shared server on 5432. PostgreSQL refuses to run as root: when the tests run as root (containers, CI
images), the cluster runs as the ``postgres`` account, in a directory handed over to it. ``kill`` is a crash:
SIGKILL to the postmaster and to each of its backends, so nothing is shut down cleanly and the restart replays WAL.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.live_server import free_port

START_TIMEOUT_SECONDS = 20
DATABASE = "charter"


class PostgresUnavailableError(Exception):
    """This machine cannot run a throw-away cluster (no binaries, or root without a ``postgres`` account)."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        found = candidates[-1] if candidates else None
    if found is None:
        raise PostgresUnavailableError(f"no `{name}` on PATH nor in /usr/lib/postgresql/*/bin")
    return found


def _run_as() -> str | None:
    """The account the cluster runs under: ``postgres`` when we are root (PostgreSQL refuses root), else us."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as error:
        raise PostgresUnavailableError(
            "running as root and there is no `postgres` account to run the server"
        ) from error
    return "postgres"


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the postmaster's backends and auxiliary processes)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
    return children


class ThrowawayPostgres:
    """One data directory and port, and whichever postmaster currently serves them. Blocking: from async code, call
    ``kill`` and ``restart`` through ``asyncio.to_thread``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._user = _run_as()
        self._postgres = _binary("postgres")
        self._initdb = _binary("initdb")
        self._server: subprocess.Popen[bytes] | None = None

    @property
    def admin_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def url(self) -> str:
        """The database the service uses (created by ``create``)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def create(self) -> None:
        """initdb (trust on loopback only: nothing but this test can reach the port), start, create the database."""
        if self._user is not None:
            shutil.chown(self.root, user=self._user)
        subprocess.run(
            [self._initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"],
            user=self._user,
            check=True,
            capture_output=True,
        )
        self.start()
        asyncio.run(self._execute("postgres", f'CREATE DATABASE "{DATABASE}"'))

    def start(self) -> None:
        """Start a postmaster on the port and data directory; return once it answers queries."""
        with (self.root / "postgres.log").open("ab") as log:
            self._server = subprocess.Popen(
                [
                    self._postgres,
                    *("-D", str(self.data), "-p", str(self.port), "-k", str(self.root)),
                    *("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60"),
                ],
                user=self._user,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._server.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._server.returncode}; see {self.root / 'postgres.log'}")
            try:
                asyncio.run(self._execute("postgres", "SELECT 1"))
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"postgres did not start on port {self.port} within {START_TIMEOUT_SECONDS} s")

    def kill(self) -> None:
        """A crash: SIGKILL the postmaster and then every backend it had, and wait until they are gone."""
        server = self._server
        if server is None or server.poll() is not None:
            return
        backends = _children(server.pid)
        server.kill()
        server.wait()
        for pid in backends:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(Path(f"/proc/{pid}").exists() and not _is_zombie(pid) for pid in backends):
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres backends {backends} outlived their postmaster")
            time.sleep(0.05)

    def restart(self) -> None:
        """Start again on the same port and data directory (after ``kill``: crash recovery)."""
        self.kill()
        self.start()

    async def _execute(self, database: str, statement: str) -> None:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database=database, timeout=2
        )
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _is_zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True


@contextmanager
def throwaway_postgres() -> Iterator[ThrowawayPostgres]:
    """A running throw-away cluster for the block, with an empty database ``charter``; removed afterwards.

    Raises :class:`PostgresUnavailableError` when this machine cannot run one (the caller skips, saying why).
    """
    # Not pytest's tmp_path: that lies under a root-only directory the ``postgres`` account cannot enter.
    root = Path(tempfile.mkdtemp(prefix="charter-pg-"))
    try:
        postgres = ThrowawayPostgres(root)
        try:
            postgres.create()
            yield postgres
        finally:
            postgres.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def throwaway_postgres_or_skip() -> Iterator[ThrowawayPostgres]:
    """:func:`throwaway_postgres`, or the calling test skipped with the reason when this machine cannot run one."""
    cluster = throwaway_postgres()
    try:
        postgres = cluster.__enter__()
    except PostgresUnavailableError as reason:
        pytest.skip(f"cannot start a throw-away PostgreSQL here: {reason}")
    try:
        yield postgres
    finally:
        cluster.__exit__(None, None, None)
