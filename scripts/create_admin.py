"""`make create-admin EMAIL=...`: create the first admin by hand, as ADMIN_EMAIL/ADMIN_PASSWORD do at start-up.

Uses the service's own configuration (DATABASE_URL or DATA_DIR, from the environment) and its own start-up, so
migrations and password rules are exactly the service's. Does nothing when an admin already exists. The password
comes from ADMIN_PASSWORD or, when that is unset, is asked for twice on the terminal; there is no default.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from pydantic import SecretStr

from impl.app import create_app
from impl.platform.settings import get_settings


def read_password() -> str:
    from_environment = os.environ.get("ADMIN_PASSWORD")
    if from_environment:
        return from_environment
    first = getpass.getpass("Admin password (15+ characters): ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("create_admin: the two passwords differ")
    return first


async def create(email: str, password: str) -> bool:
    settings = get_settings().model_copy(update={"admin_email": email, "admin_password": SecretStr(password)})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        return bool(getattr(app.state, "admin_created", False))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--email", required=True)
    args = parser.parse_args(argv)
    try:
        created = asyncio.run(create(args.email, read_password()))
    except ValueError as error:  # the password rules
        print(f"create_admin: {error}", file=sys.stderr)
        return 1
    print(f"create_admin: {'created' if created else 'an admin already exists; nothing changed for'} {args.email}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
