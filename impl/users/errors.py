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
