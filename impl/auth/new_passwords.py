"""A password someone sets for an account: checked against the password rules, then hashed.

The users service sets passwords (an admin creating a user) and the demo accounts are seeded with one; both are
handed this object as their ``NewPasswords`` port, so neither needs the auth service, and the app factory can
build the users service before the accounts that the auth service signs in against.
"""

from __future__ import annotations

from impl.auth.errors import PasswordRejectedError
from impl.auth.password_policy import PasswordPolicy, normalise
from impl.auth.passwords import PasswordHasher


class NewPasswordRules:
    def __init__(self, *, policy: PasswordPolicy, hasher: PasswordHasher) -> None:
        self._policy = policy
        self._hasher = hasher

    async def hash_new_password(self, password: str, *, email: str, name: str, pointer: str) -> str:
        """Check a new password against the rules (422 at ``pointer``) and hash it."""
        password = normalise(password)
        reasons = self._policy.problems(password, email=email, name=name)
        if reasons:
            raise PasswordRejectedError(pointer=pointer, reasons=reasons)
        return await self._hasher.hash(password)
