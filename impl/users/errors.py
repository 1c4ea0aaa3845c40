"""Domain exceptions of the users package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from uuid import UUID

from impl.platform.problems import InvalidRequestError, ProblemError

__all__ = ["EmailTakenError", "InvalidRequestError", "PreconditionFailedError", "UserNotFoundError"]


class UserNotFoundError(ProblemError):
    status = 404

    def __init__(self, user_id: UUID) -> None:
        super().__init__(f"No user has the id {user_id}.")


class EmailTakenError(ProblemError):
    status = 409

    def __init__(self) -> None:
        super().__init__("A user with this email already exists.")


class PreconditionFailedError(ProblemError):
    status = 412

    def __init__(self) -> None:
        super().__init__("The user has changed since the ETag you sent; read it again and retry.")


class RoleChangeForbiddenError(ProblemError):
    status = 403

    def __init__(self) -> None:
        super().__init__("Only admins change roles.")


class LastAdminError(ProblemError):
    status = 409

    def __init__(self) -> None:
        super().__init__("This is the last active admin; make another user admin first.")


class OwnAccessChangeForbiddenError(ProblemError):
    status = 403

    def __init__(self) -> None:
        super().__init__("Nobody changes their own role or active flag, or deletes their own account; ask an admin.")


class OwnEmailChangeError(InvalidRequestError):
    def __init__(self) -> None:
        super().__init__(
            "Change your own email with PATCH /api/v1/auth/me, which asks for your current password.",
            errors=[{"detail": "Your own email changes only with your current password", "pointer": "#/email"}],
        )
