"""Domain exceptions of the users package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from uuid import UUID

from impl.platform.problems import ProblemError


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


class InvalidRequestError(ProblemError):
    """A request that passes the schema's types but breaks one of its rules that Pydantic cannot express."""

    status = 422

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, extensions={"errors": errors})
