"""The `auth` tag's handlers (generated.api.auth.AuthApi): registration, sign-in, rotation, logout, own profile."""

from __future__ import annotations

import secrets
import time
import uuid

from generated import models
from generated.api._support import Principal, Reply
from impl.auth.account_states import AccountStates
from impl.auth.errors import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    PasswordRejectedError,
    UnauthorizedError,
    WrongPasswordError,
)
from impl.auth.password_policy import PasswordPolicy, normalise
from impl.auth.passwords import PasswordHasher
from impl.auth.ports import Account, UserAccounts
from impl.auth.sessions import AuthSessions, session_key
from impl.auth.signing_keys import SigningKeys
from impl.auth.token_blacklist import TokenBlacklist
from impl.auth.tokens import InvalidTokenError, TokenService
from impl.platform.problems import InvalidRequestError, ProblemError, refuse_explicit_nulls, require_members
from impl.platform.rate_limit import RateLimiter, RateLimitExceededError

# The policy that counts an answer telling whether an email is registered (see update_me).
EMAIL_PROBE_POLICY = "auth"
REFRESH_POLICY = "refresh"  # counted per login session (the spec's `counted_per: session`)
# RFC 6749 §5.1: an answer carrying tokens is never stored, by HTTP/1.1 caches or HTTP/1.0 ones.
TOKEN_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}
EMAIL_TAKEN = 409  # the users domain's answer for a taken email (its error class is its own)

ACCEPTED = models.RegistrationAccepted(
    status="accepted", detail="If this email can be registered, the account now exists; sign in to continue."
)


class AuthService:
    def __init__(
        self,
        *,
        accounts: UserAccounts,
        sessions: AuthSessions,
        tokens: TokenService,
        keys: SigningKeys,
        blacklist: TokenBlacklist,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        states: AccountStates,
        limiter: RateLimiter,
    ) -> None:
        self._limiter = limiter
        self._accounts = accounts
        self._states = states
        self._sessions = sessions
        self._tokens = tokens
        self._blacklist = blacklist
        self._hasher = hasher
        self._policy = policy
        # Built once: the key set never changes while the process runs.
        self._jwks = models.Jwks.model_validate(keys.jwks())

    # --- public ----------------------------------------------------------------------------------------------
    async def get_jwks(self) -> models.Jwks:
        return self._jwks

    async def register(self, *, body: models.Registration) -> models.RegistrationAccepted:
        password = normalise(body.password.get_secret_value())
        reasons = self._policy.problems(password, email=body.email, name=body.name)
        if reasons:
            raise PasswordRejectedError(pointer="#/password", reasons=reasons)
        # Hashed whether or not the email is free: a known email takes as long as a new one, and answers the same.
        password_hash = await self._hasher.hash(password)
        await self._accounts.register(email=body.email, name=body.name, password_hash=password_hash)
        return ACCEPTED

    async def login(self, *, body: models.Credentials) -> Reply[models.TokenPair]:
        return Reply(
            await self._sign_in(email=body.email, password=body.password.get_secret_value()), headers=TOKEN_HEADERS
        )

    async def issue_token(self, *, body: models.PasswordGrant) -> Reply[models.TokenPair]:
        pair = await self._sign_in(email=body.username, password=body.password.get_secret_value())
        return Reply(pair, headers=TOKEN_HEADERS)

    async def refresh_tokens(self, *, body: models.RefreshRequest) -> Reply[models.TokenPair]:
        return Reply(await self._refresh(body.refresh_token), headers=TOKEN_HEADERS)

    async def _refresh(self, refresh_token: str) -> models.TokenPair:
        try:
            claims = self._tokens.verify(refresh_token, expected_type="refresh")
            user_id = uuid.UUID(claims.subject)
        except (InvalidTokenError, ValueError):
            raise InvalidRefreshTokenError from None
        # Counted per session, once the token is known to be ours: people behind one address never share it.
        outcome = await self._limiter.hit(policy=REFRESH_POLICY, key=session_key(claims.family_id))
        if not outcome.allowed:
            raise RateLimitExceededError(outcome=outcome)
        next_token_id = secrets.token_urlsafe(24)
        rotated = await self._sessions.rotate(
            session_id=claims.family_id, presented_token_id=claims.token_id, next_token_id=next_token_id
        )
        if not rotated:
            # Already used (or revoked, or expired): whoever holds the family's tokens loses them all.
            await self._end_sessions([claims.family_id])
            raise InvalidRefreshTokenError
        account = await self._accounts.find(user_id)
        if account is None or not account.active:
            await self._end_sessions([claims.family_id])
            raise InvalidRefreshTokenError
        return self._token_pair(account, session_id=claims.family_id, refresh_token_id=next_token_id)

    # --- signed in ---------------------------------------------------------------------------------------------
    async def logout(self, *, principal: Principal) -> None:
        await self._blacklist.revoke(token_id=principal.token_id, expires_at=principal.expires_at)
        await self._end_sessions([principal.family_id])

    async def get_me(self, *, principal: Principal) -> models.User:
        user = await self._accounts.view(principal.subject)
        if user is None:
            raise UnauthorizedError(token_sent=True)
        return user

    async def update_me(self, *, principal: Principal, body: models.ProfilePatch) -> models.User:
        require_members(body, fields="email, name")
        refuse_explicit_nulls(body, what="your profile")
        account = await self._signed_in_account(principal)
        if body.email is not None and body.email.lower() != account.email:
            if body.current_password is None:
                raise InvalidRequestError(
                    "Changing the email needs your current password.",
                    errors=[{"detail": "Field required to change the email", "pointer": "#/current_password"}],
                )
            await self._require_password(account, body.current_password.get_secret_value())
        try:
            user = await self._accounts.update_profile(user_id=account.id, email=body.email, name=body.name)
        except ProblemError as error:
            if error.status == EMAIL_TAKEN:
                await self._count_email_probe(account.id)
            raise
        if user is None:
            raise UnauthorizedError(token_sent=True)
        return user

    async def change_password(self, *, principal: Principal, body: models.PasswordChange) -> None:
        account = await self._signed_in_account(principal)
        await self._require_password(account, body.current_password.get_secret_value())
        new_password = normalise(body.new_password.get_secret_value())
        reasons = self._policy.problems(new_password, email=account.email, name=account.name)
        if reasons:
            raise PasswordRejectedError(pointer="#/new_password", reasons=reasons)
        password_hash = await self._hasher.hash(new_password)
        await self._accounts.set_password_hash(user_id=account.id, password_hash=password_hash)
        # Every other session ends: a thief holding an old refresh token cannot outlast the password change.
        ended = await self._sessions.revoke_all(user_id=account.id, except_session_id=principal.family_id)
        await self._end_sessions(ended, already_revoked=True)

    # --- for other domains ---------------------------------------------------------------------------------------
    async def access_changed(self, user_id: uuid.UUID) -> None:
        """The account's role or active flag changed, or it was deleted: every session of it ends (its refresh
        tokens stop, its access tokens are refused on every worker) and this worker reads its state again."""
        self._states.forget(user_id)
        ended = await self._sessions.revoke_all(user_id=user_id)
        await self._end_sessions(ended, already_revoked=True)

    # --- helpers -----------------------------------------------------------------------------------------------
    async def bootstrap_admin(self, *, email: str, password: str) -> bool:
        """Create (or promote) the first admin when none exists. The password must pass the password rules."""
        password = normalise(password)
        reasons = self._policy.problems(password, email=email)
        if reasons:
            raise ValueError("ADMIN_PASSWORD does not meet the password rules: " + "; ".join(reasons))
        return await self._accounts.ensure_admin(email=email, password_hash=await self._hasher.hash(password))

    async def _sign_in(self, *, email: str, password: str) -> models.TokenPair:
        account = await self._accounts.find_by_email(email)
        password = normalise(password)
        # Unknown accounts are verified against a dummy hash: the same work, the same answer, the same time.
        verified = await self._hasher.verify(
            password_hash=account.password_hash if account is not None else None, password=password
        )
        if account is None or not verified or not account.active:
            raise InvalidCredentialsError
        if account.password_hash is not None and self._hasher.needs_rehash(account.password_hash):
            await self._accounts.set_password_hash(user_id=account.id, password_hash=await self._hasher.hash(password))
        session_id = secrets.token_urlsafe(24)
        refresh_token_id = secrets.token_urlsafe(24)
        await self._sessions.start(session_id=session_id, user_id=account.id, token_id=refresh_token_id)
        return self._token_pair(account, session_id=session_id, refresh_token_id=refresh_token_id)

    def _token_pair(self, account: Account, *, session_id: str, refresh_token_id: str) -> models.TokenPair:
        subject = str(account.id)
        access, _ = self._tokens.issue(token_type="access", subject=subject, family_id=session_id, role=account.role)  # nosec B106 - a token kind
        refresh, _ = self._tokens.issue(
            token_type="refresh",
            subject=subject,
            family_id=session_id,
            token_id=refresh_token_id,  # nosec B106 - a token kind
        )
        return models.TokenPair(
            access_token=access,
            refresh_token=refresh,
            token_type="Bearer",  # nosec B106 - a token kind
            expires_in=self._tokens.access_ttl_seconds,
            refresh_expires_in=self._tokens.refresh_ttl_seconds,
        )

    async def _end_sessions(self, session_ids: list[str], *, already_revoked: bool = False) -> None:
        """End login sessions: their refresh token stops working, and so do their access tokens still in flight
        (the guard refuses any token whose session is on the blacklist, until the last one would have expired)."""
        expires_at = int(time.time()) + self._tokens.access_ttl_seconds + 60  # + clock-skew leeway
        for session_id in session_ids:
            if not already_revoked:
                await self._sessions.revoke(session_id=session_id)
            await self._blacklist.revoke(token_id=session_key(session_id), expires_at=expires_at)

    async def _count_email_probe(self, user_id: uuid.UUID) -> None:
        """A 409 says the email is registered: the one answer that does (registration never tells). It costs the
        caller's sign-in budget (the auth policy, per user), so a signed-in account cannot list who is registered
        faster than it could guess passwords; past the budget the answer is 429, taken or not."""
        outcome = await self._limiter.hit(policy=EMAIL_PROBE_POLICY, key=f"user:{user_id}")
        if not outcome.allowed:
            raise RateLimitExceededError(outcome=outcome)

    async def _signed_in_account(self, principal: Principal) -> Account:
        account = await self._accounts.find(principal.subject)
        if account is None or not account.active:
            raise UnauthorizedError(token_sent=True)
        return account

    async def _require_password(self, account: Account, password: str) -> None:
        if not await self._hasher.verify(password_hash=account.password_hash, password=normalise(password)):
            raise WrongPasswordError
