"""Who may change which of a user's fields, whatever the path (PUT or PATCH on /users/{id}, a deletion).

Nobody changes their own access: an account's ``active`` flag and ``role`` are someone else's decision (an
admin's), so a deactivated or demoted account cannot undo it with a token it still holds, and an admin cannot
lock themselves out. Their own email changes only through ``PATCH /api/v1/auth/me``, which asks for the current
password (whoever holds a stolen token must not be able to take the account over by moving its email).
"""

from __future__ import annotations

import uuid

from generated.api._support import Principal
from impl.users.errors import OwnAccessChangeForbiddenError, OwnEmailChangeError

# The fields that decide what an account may do: a change of either ends its sessions (see UsersService).
ACCESS_FIELDS = frozenset({"active", "role"})


def refuse_own_access_change(principal: Principal, user_id: uuid.UUID, changed: set[str]) -> None:
    """403 when the caller changes their own ``active`` or ``role`` (or deletes themselves: ``active`` too);
    422 when they change their own email here."""
    if principal.subject != user_id:
        return
    if ACCESS_FIELDS & changed:
        raise OwnAccessChangeForbiddenError
    if "email" in changed:
        raise OwnEmailChangeError
