"""The demo accounts APP_ENV=mock seeds at start-up, so frontend developers can sign in as every role at once.

The password is public on purpose (docs/frontend.md, and the start-up log): a mock's data is scratch data that
disappears when the process stops, and nothing else ever runs with these accounts (the seeding happens only in mock
mode). The accounts are created through the same code as a registration, with a password that passes the password rules.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from generated import models
from impl.users.service import NewPasswords

logger = logging.getLogger("charter.mock")

# One passphrase for every demo account: easy to type in a login form; it contains no account's email or name.
DEMO_PASSWORD = "charter mock passphrase"  # noqa: S105  # nosec B105 - published demo data, mock mode only


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoAccount:
    email: str
    name: str
    role: models.Role


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(email="admin@example.com", name="Ada Lovelace", role=models.Role.admin),
    DemoAccount(email="moderator@example.com", name="Grace Hopper", role=models.Role.moderator),
    DemoAccount(email="alan@example.com", name="Alan Turing", role=models.Role.user),
    DemoAccount(email="katherine@example.com", name="Katherine Johnson", role=models.Role.user),
    DemoAccount(email="edsger@example.com", name="Edsger Dijkstra", role=models.Role.user),
)


class Registrations(Protocol):
    """Creates an account with a password hash; False when the email is taken (``UserAccounts.register``)."""

    async def register(self, *, email: str, name: str, password_hash: str, role: str = "user") -> bool: ...


async def seed_demo_accounts(
    *, accounts: Registrations, passwords: NewPasswords, demo: Sequence[DemoAccount] = DEMO_ACCOUNTS
) -> list[DemoAccount]:
    """Create the demo accounts (an email already taken is left as it is) and log how to sign in, once."""
    created: list[DemoAccount] = []
    for account in demo:
        password_hash = await passwords.hash_new_password(
            DEMO_PASSWORD, email=account.email, name=account.name, pointer="#/password"
        )
        if await accounts.register(
            email=account.email, name=account.name, password_hash=password_hash, role=account.role.value
        ):
            created.append(account)
    if created:
        listing = ", ".join(f"{account.email} ({account.role.value})" for account in created)
        logger.info("mock data: demo accounts %s, each with the password %r", listing, DEMO_PASSWORD)
    return created
