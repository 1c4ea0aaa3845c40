"""`make migration MSG=...`: autogenerate a migration from the models against a scratch database at head."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from impl.platform.db.migrations import MIGRATIONS_DIR, alembic_config


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].strip():
        print('usage: python -m scripts.new_migration "what changed"', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="charter-migration-") as scratch:
        config = alembic_config(f"sqlite+aiosqlite:///{Path(scratch) / 'scratch.db'}")
        command.upgrade(config, "head")  # the scratch database at the current head...
        revisions = sorted((MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
        next_id = f"{len(revisions) + 1:04d}"
        # ...so autogenerate writes exactly the difference between the models and the migrations.
        command.revision(config, message=argv[0], autogenerate=True, rev_id=next_id)
    print("new_migration: review the file (types, batch operations for SQLite), then run `make test`.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
