"""The access guard: the dependency the generated routers put first on every guarded operation.

Order matters and is the same everywhere: authenticate (without failing yet), count the request against the
operation's rate-limit policy (per user when the token is valid, else per client address, so failed attempts are
counted too), then answer 401, 403 (role), or 404 (a self-only role on someone else's id). Everything that can be
built once (policy lookups, role sets) is built when the router is, not per request.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request

from generated.api._support import Principal
from impl.auth.account_states import AccountStates
from impl.auth.errors import ForbiddenError, NotYoursError, UnauthorizedError
from impl.auth.sessions import session_key
from impl.auth.token_blacklist import TokenBlacklist, TokenBlacklistUnavailableError
from impl.auth.tokens import InvalidTokenError, TokenService
from impl.platform.log_context import bind_log_context
from impl.platform.middleware.rate_limit_headers import RATE_LIMIT_STATE
from impl.platform.rate_limit import RateLimiter, RateLimitExceededError

logger = logging.getLogger("charter.auth")

OWNER_PARAMETER = "user_id"
# Why a request got 401 (a metrics label): no token, a token that does not verify, or a revoked one.
FailureReason = Literal["missing", "invalid", "revoked"]


def client_key(request: Request) -> str:
    # The ASGI client address: uvicorn's ProxyHeadersMiddleware (trusted proxies only) has already rewritten it.
    client = request.client
    return f"ip:{client.host}" if client is not None else "ip:unknown"


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; never a query parameter or cookie (RFC 6750 §5.3)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    # Another scheme (Basic, ...) carries no Bearer credentials: answered like none (RFC 6750 §3.1, no error code).
    return (token.strip() or None) if scheme.lower() == "bearer" else None


class AccessGuard:
    """Implements ``generated.api._support.Guard``."""

    def __init__(
        self,
        *,
        tokens: TokenService,
        blacklist: TokenBlacklist,
        states: AccountStates,
        limiter: RateLimiter,
        on_failure: Callable[[FailureReason], None] | None = None,
        diagnostics: frozenset[str] = frozenset(),
    ) -> None:
        """``diagnostics``: operation IDs that answer while the revocation store is unreachable (the admins' health
        page, needed most during an outage): their token is checked without it, and a warning says so. Every other
        operation fails closed (503)."""
        self._diagnostics = diagnostics
        self._tokens = tokens
        self._blacklist = blacklist
        self._states = states
        self._limiter = limiter
        self._on_failure = on_failure

    def _refuse(self, reason: FailureReason) -> UnauthorizedError:
        if self._on_failure is not None:
            self._on_failure(reason)
        return UnauthorizedError(token_sent=reason != "missing")

    async def authenticate(self, request: Request, *, diagnostic: bool = False) -> Principal:
        """The caller of a request with a valid, unrevoked access token; otherwise 401."""
        token = bearer_token(request)
        if not token:
            raise self._refuse("missing" if token is None else "invalid")
        return await self.authenticate_token(token, diagnostic=diagnostic)

    async def authenticate_token(self, token: str, *, diagnostic: bool = False) -> Principal:
        """The owner of a valid, unrevoked access token however it arrived (a WebSocket subprotocol, too); else 401.

        ``diagnostic``: for a diagnostic operation, an unreachable revocation store is logged, not a 503."""
        if not token:
            raise self._refuse("missing")
        try:
            claims = self._tokens.verify(token, expected_type="access")
            subject = uuid.UUID(claims.subject)
        except (InvalidTokenError, ValueError):
            raise self._refuse("invalid") from None
        if claims.role is None:
            raise self._refuse("invalid")
        # Fails closed: an unreachable shared blacklist is a 503, never a revoked token let through (but for the
        # diagnostics, whose answer is worth most while it is down: read-only, and for admins only).
        try:
            revoked = await self._blacklist.any_revoked(claims.token_id, session_key(claims.family_id))
        except TokenBlacklistUnavailableError:
            if not diagnostic:
                raise
            logger.warning("token revocation could not be checked (the store is unreachable); a diagnostic answered")
            revoked = False
        if revoked:
            raise self._refuse("revoked")
        # The token says who; the account as it is now says what they may do (its role claim is not the authority).
        state = await self._states.current(subject)
        if state is None or not state.active:
            raise self._refuse("revoked")
        bind_log_context(user_id=str(subject))  # every later log line of this request names its caller
        return Principal(
            subject=subject,
            role=state.role,
            token_id=claims.token_id,
            family_id=claims.family_id,
            expires_at=claims.expires_at,
        )

    async def still_allowed(self, principal: Principal) -> bool:
        """Whether a channel opened as ``principal`` (a chat socket, an event stream) may stay open: its token and
        session are not revoked, and the account is still active with the same role. Raises the stores' 503 when
        it cannot tell; callers end the channel then too (fail closed)."""
        if await self._blacklist.any_revoked(principal.token_id, session_key(principal.family_id)):
            return False
        state = await self._states.current(principal.subject)
        return state is not None and state.active and state.role == principal.role

    async def _count(self, request: Request, policy: str, key: str) -> None:
        outcome = await self._limiter.hit(policy=policy, key=key)
        headers = outcome.headers()
        if headers:
            # The edge middleware copies these onto the response, whatever the handler answers.
            request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = headers
        if not outcome.allowed:
            raise RateLimitExceededError(outcome=outcome)

    def authorize(
        self, *, operation_id: str, roles: frozenset[str], self_only: frozenset[str], rate_limit: str | None
    ) -> Callable[[Request], Awaitable[Principal]]:
        diagnostic = operation_id in self._diagnostics

        async def dependency(request: Request) -> Principal:
            try:
                principal: Principal | None = await self.authenticate(request, diagnostic=diagnostic)
                failure: UnauthorizedError | None = None
            except UnauthorizedError as error:
                principal, failure = None, error
            if rate_limit is not None:
                await self._count(
                    request, rate_limit, f"user:{principal.subject}" if principal else client_key(request)
                )
            if principal is None:
                assert failure is not None  # noqa: S101  # nosec B101 - one of the two is always set
                raise failure
            if principal.role not in roles:
                raise ForbiddenError
            if principal.role in self_only:
                _require_own(request, principal)
            return principal

        dependency.__name__ = f"authorize_{operation_id}"
        return dependency

    def admit(self, *, operation_id: str, rate_limit: str) -> Callable[[Request], Awaitable[None]]:
        per_session = self._limiter.counted_per(rate_limit) == "session"

        async def dependency(request: Request) -> None:
            if not per_session:  # else the operation counts it, per login session (see RateLimitPolicy)
                await self._count(request, rate_limit, client_key(request))

        dependency.__name__ = f"admit_{operation_id}"
        return dependency


def _require_own(request: Request, principal: Principal) -> None:
    raw = request.path_params.get(OWNER_PARAMETER)
    if raw is None:
        return
    try:
        requested = uuid.UUID(str(raw))
    except ValueError:
        return  # not an id at all: the parameter's own validation answers 422
    if requested != principal.subject:
        raise NotYoursError(str(raw))
