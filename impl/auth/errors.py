"""Domain exceptions of the auth package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from impl.platform.problems import ProblemError

REALM = 'Bearer realm="charter"'


class UnauthorizedError(ProblemError):
    """No valid access token. The detail never says which check failed beyond "missing" or "invalid"."""

    status = 401

    def __init__(self, *, token_sent: bool) -> None:
        if token_sent:
            detail = "The access token is not valid (malformed, expired, revoked or of the wrong kind)."
            challenge = f'{REALM}, error="invalid_token"'
        else:
            detail = "This operation needs a valid access token (Authorization Bearer)."
            challenge = REALM
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class InvalidCredentialsError(ProblemError):
    """Unknown email, wrong password and deactivated account: one answer, so nothing is learnt from it."""

    status = 401

    def __init__(self) -> None:
        super().__init__("The email or password is not correct.", headers={"WWW-Authenticate": REALM})


class InvalidRefreshTokenError(ProblemError):
    status = 401

    def __init__(self) -> None:
        super().__init__(
            "The refresh token is not valid; sign in again.",
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )


class ForbiddenError(ProblemError):
    status = 403

    def __init__(self, detail: str = "Your role may not do this.") -> None:
        super().__init__(detail)


class WrongPasswordError(ProblemError):
    status = 403

    def __init__(self) -> None:
        super().__init__("The current password is not correct.")


class NotYoursError(ProblemError):
    """A self-only role on another user's id: answered exactly like an id that does not exist (no enumeration)."""

    status = 404

    def __init__(self, user_id: str) -> None:
        super().__init__(f"No user has the id {user_id}.")


class PasswordRejectedError(ProblemError):
    status = 422

    def __init__(self, *, pointer: str, reasons: list[str]) -> None:
        super().__init__(
            "The password does not meet the password rules.",
            extensions={"errors": [{"detail": reason, "pointer": pointer} for reason in reasons]},
        )
