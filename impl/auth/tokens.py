"""Issue and verify JWTs (PyJWT) the way RFC 8725 asks: pinned algorithm, fixed key map, every claim required.

Access and refresh tokens differ in both the JOSE ``typ`` header (``at+jwt``, RFC 9068; ``rt+jwt``) and the
``token_use`` claim, and verification demands both, so neither can stand in for the other. Every failure is an
:class:`InvalidTokenError` with a short reason for logs; the token itself is never echoed.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from impl.auth.signing_keys import SigningKeys

TokenType = Literal["access", "refresh"]
TYP = {"access": "at+jwt", "refresh": "rt+jwt"}
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
MAX_TOKEN_LENGTH = 8192


class InvalidTokenError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TokenClaims:
    subject: str
    token_id: str
    token_type: TokenType
    family_id: str
    role: str | None
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
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = {"access": access_ttl_seconds, "refresh": refresh_ttl_seconds}
        self._leeway = leeway_seconds
        self._clock = clock

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
        now = int(self._clock())
        claims = TokenClaims(
            subject=subject,
            token_id=token_id or secrets.token_urlsafe(24),
            token_type=token_type,
            family_id=family_id,
            role=role if token_type == "access" else None,
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
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidTokenError("malformed")
        try:
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
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "verify_signature": True},
            )
            if payload.get("token_use") != expected_type:
                raise InvalidTokenError("wrong token type")
            subject, token_id, family_id = payload["sub"], payload["jti"], payload.get("sid")
            role = payload.get("role")
            if not (isinstance(subject, str) and isinstance(token_id, str) and isinstance(family_id, str)):
                raise InvalidTokenError("malformed claims")
            if not (subject and token_id and family_id):
                raise InvalidTokenError("malformed claims")
            if role is not None and not isinstance(role, str):
                raise InvalidTokenError("malformed claims")
            return TokenClaims(
                subject=subject,
                token_id=token_id,
                token_type=expected_type,
                family_id=family_id,
                role=role,
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
            )
        except InvalidTokenError:
            raise
        except jwt.PyJWTError as error:
            raise InvalidTokenError(type(error).__name__) from None
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InvalidTokenError("malformed") from None
