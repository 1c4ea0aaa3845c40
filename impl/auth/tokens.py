"""Issue and verify JWTs (PyJWT) the way RFC 8725 asks: pinned algorithm, fixed key map, every claim required.

Access and refresh tokens differ in both the JOSE ``typ`` header (``at+jwt``, RFC 9068; ``rt+jwt``) and the
``token_use`` claim, and verification demands both, so neither can stand in for the other. Every failure is an
:class:`InvalidTokenError` with a short reason for logs; the token itself is never echoed.

PyJWT checks the signature, ``iss``, ``aud`` and that every required claim is present. The time claims (``exp``,
``nbf``, ``iat``) are checked here against the service's injectable clock, because PyJWT always reads the wall
clock, and a clock that tests and the rest of the service can control is what makes expiry testable.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from impl.auth.signing_keys import SigningKeys
from impl.auth.verified_tokens import TimeClaims, VerifiedTokens

TokenType = Literal["access", "refresh"]
TYP: dict[str, str] = {"access": "at+jwt", "refresh": "rt+jwt"}
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
# Ours are well under 1 KiB (RS256 with 3072-bit keys included); anything this long is refused before parsing.
MAX_TOKEN_LENGTH = 8192
MAX_LEEWAY_SECONDS = 30  # RFC 8725: a small clock-skew allowance
# PyJWT's exceptions as short, fixed reasons for logs; anything else is "malformed".
REASONS: dict[type[jwt.PyJWTError], str] = {
    jwt.ImmatureSignatureError: "not yet valid",
    jwt.InvalidAudienceError: "wrong audience",
    jwt.InvalidIssuerError: "wrong issuer",
    jwt.MissingRequiredClaimError: "missing claim",
    jwt.InvalidSignatureError: "bad signature",
}


class InvalidTokenError(Exception):
    """The token is not one this service issued for this use, or no longer valid; always a 401 to the caller.

    ``reason`` is short and fixed (for logs); neither it nor the message ever contains the token.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    token_id: str  # jti
    token_type: TokenType
    family_id: str  # sid: the login session, shared by the refresh-token family and its access tokens
    role: str | None  # access tokens only
    issued_at: int
    expires_at: int


class TokenService:
    def __init__(
        self,
        *,
        keys: SigningKeys,
        issuer: str,
        audience: str,
        access_ttl_seconds: int = 900,
        refresh_ttl_seconds: int = 604_800,
        leeway_seconds: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (0 <= leeway_seconds <= MAX_LEEWAY_SECONDS):
            raise ValueError(f"leeway_seconds must be between 0 and {MAX_LEEWAY_SECONDS}")
        if access_ttl_seconds <= 0 or refresh_ttl_seconds <= 0:
            raise ValueError("token lifetimes must be positive")
        if not issuer or not audience:
            raise ValueError("issuer and audience must not be empty")
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = {"access": access_ttl_seconds, "refresh": refresh_ttl_seconds}
        self._leeway = leeway_seconds
        self._clock = clock
        # Access tokens already verified, so a client's next request skips the crypto (see verified_tokens.py).
        self._verified: VerifiedTokens[TokenClaims] = VerifiedTokens()

    @property
    def access_ttl_seconds(self) -> int:
        return self._ttl["access"]

    @property
    def refresh_ttl_seconds(self) -> int:
        return self._ttl["refresh"]

    def issue(
        self,
        *,
        token_type: TokenType,
        subject: str,
        family_id: str,
        role: str | None = None,
        token_id: str | None = None,
    ) -> tuple[str, TokenClaims]:
        if token_type == "access" and not role:  # nosec B105 - a token kind
            raise ValueError("an access token carries the subject's role")
        now = int(self._clock())
        claims = TokenClaims(
            subject=subject,
            token_id=token_id or secrets.token_urlsafe(24),
            token_type=token_type,
            family_id=family_id,
            role=role if token_type == "access" else None,  # nosec B105 - a token kind
            issued_at=now,
            expires_at=now + self._ttl[token_type],
        )
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "jti": claims.token_id,
            "iat": now,
            "nbf": now,
            "exp": claims.expires_at,
            "sid": family_id,
            "token_use": token_type,
        }
        if claims.role is not None:
            payload["role"] = claims.role
        headers = {"kid": self._keys.active_kid, "typ": TYP[token_type]}
        token = jwt.encode(payload, self._keys.signing_key, algorithm=self._keys.algorithm, headers=headers)
        return token, claims

    def verify(self, token: str, *, expected_type: TokenType) -> TokenClaims:
        """The claims of a valid token of ``expected_type``; InvalidTokenError for anything else, nothing else."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("malformed")
        if expected_type == "access" and (hit := self._verified.get(token)) is not None:
            claims, times = hit
            try:
                self._check_time_claims(times)
            except InvalidTokenError:
                self._verified.forget(token)
                raise
            return claims
        try:
            claims, times = self._verify(token, expected_type)
        except InvalidTokenError:
            raise
        except jwt.PyJWTError as error:
            raise InvalidTokenError(REASONS.get(type(error), "malformed")) from None
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError):
            # Well-formed but odd input (a list as header, 1e999, deep nesting) surfaces as these from the parsers.
            raise InvalidTokenError("malformed") from None
        if expected_type == "access":
            self._verified.put(token, claims, times)
        return claims

    def _verify(self, token: str, expected_type: TokenType) -> tuple[TokenClaims, TimeClaims]:
        header = jwt.get_unverified_header(token)
        # Decided by the service, never by the token: `none`, HS256-with-the-public-key and friends end here.
        if header.get("alg") != self._keys.algorithm:
            raise InvalidTokenError("algorithm not accepted")
        if header.get("typ") != TYP[expected_type]:
            raise InvalidTokenError("wrong token type")
        kid = header.get("kid")
        key = self._keys.verification_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("unknown key")
        payload = jwt.decode(
            token,
            key,
            algorithms=[self._keys.algorithm],
            audience=self._audience,
            issuer=self._issuer,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_signature": True,
                "verify_aud": True,
                "verify_iss": True,
                # Checked below against self._clock (see the module docstring).
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        if not isinstance(payload, dict):
            raise InvalidTokenError("malformed claims")
        times = self._check_times(payload)
        # The typ header is signed too; the claim is checked as well so that a token is typed for any consumer,
        # whichever of the two it reads.
        if payload.get("token_use") != expected_type:
            raise InvalidTokenError("wrong token type")
        subject, token_id, family_id, role = payload["sub"], payload["jti"], payload.get("sid"), payload.get("role")
        if not (isinstance(subject, str) and isinstance(token_id, str) and isinstance(family_id, str)):
            raise InvalidTokenError("malformed claims")
        if not (subject and token_id and family_id):
            raise InvalidTokenError("malformed claims")
        if expected_type == "access" and not (isinstance(role, str) and role):
            raise InvalidTokenError("malformed claims")
        claims = TokenClaims(
            subject=subject,
            token_id=token_id,
            token_type=expected_type,
            family_id=family_id,
            role=role if expected_type == "access" else None,  # a refresh token grants nothing by itself
            issued_at=times.issued_at,
            expires_at=times.expires_at,
        )
        return claims, times

    def _check_times(self, payload: dict[str, Any]) -> TimeClaims:
        times = TimeClaims(
            expires_at=_numeric_date(payload, "exp"),
            not_before=_numeric_date(payload, "nbf"),
            issued_at=_numeric_date(payload, "iat"),
        )
        self._check_time_claims(times)
        return times

    def _check_time_claims(self, times: TimeClaims) -> None:
        """Against the service's clock; also for a token verified earlier (the clock has moved since)."""
        now = self._clock()
        if times.expires_at <= now - self._leeway:
            raise InvalidTokenError("expired")
        if times.not_before > now + self._leeway or times.issued_at > now + self._leeway:
            raise InvalidTokenError("not yet valid")


def _numeric_date(payload: dict[str, Any], name: str) -> int:
    """A NumericDate claim (RFC 7519 §2) as whole seconds; booleans, strings, NaN and infinities are refused."""
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidTokenError("malformed claims")
    return int(value)
