"""The fixed map of token-signing keys: `kid` → key, built once at start-up, and the public JWKS.

HS256 (dev/test): one shared secret, never published. RS256 (staging/prod): every `<kid>.pem` private key in a
directory; the last kid in name order signs (name new keys by date and they rotate in) while all keep verifying,
so tokens signed before a rotation stay valid until they expire. Remove an old file once its tokens have expired.
A token's `kid` is only ever a dictionary lookup here, never a path or a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import RSAAlgorithm

Algorithm = Literal["HS256", "RS256"]
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_RSA_BITS = 2048
# RFC 7518 §3.2: an HS256 key at least as long as the hash output. PyJWT warns below this on every signature.
MIN_HMAC_SECRET_BYTES = 32


class SigningKeyError(ValueError):
    """The configured keys cannot be used; the service refuses to start. The message never holds key material."""


class SigningKeys:
    """Immutable after construction; build it with :meth:`symmetric` or :meth:`from_directory`."""

    __slots__ = ("_active_kid", "_algorithm", "_signing", "_verifying")

    def __init__(
        self,
        *,
        algorithm: Algorithm,
        active_kid: str,
        signing: Mapping[str, Any],
        verifying: Mapping[str, Any],
    ) -> None:
        if active_kid not in signing or active_kid not in verifying:
            raise SigningKeyError(f"the active kid {active_kid!r} has no key")
        self._algorithm: Algorithm = algorithm
        self._active_kid = active_kid
        self._signing = dict(signing)
        self._verifying = dict(verifying)

    def __repr__(self) -> str:
        # Never the secret or the private keys, whatever logs or tracebacks this ends up in.
        return f"SigningKeys(algorithm={self._algorithm!r}, active_kid={self._active_kid!r}, kids={self.kids!r})"

    @classmethod
    def symmetric(cls, *, secret: str, kid: str = "hs256-1") -> SigningKeys:
        _check_kid(kid, where="the HS256 kid")
        if len(secret.encode("utf-8")) < MIN_HMAC_SECRET_BYTES:
            raise SigningKeyError(f"the HS256 secret must be at least {MIN_HMAC_SECRET_BYTES} bytes long")
        return cls(algorithm="HS256", active_kid=kid, signing={kid: secret}, verifying={kid: secret})

    @classmethod
    def from_directory(cls, path: Path, *, active_kid: str | None = None) -> SigningKeys:
        if not path.is_dir():
            raise SigningKeyError(f"the JWT keys directory {path} does not exist")
        files = sorted(path.glob("*.pem"))
        if not files:
            raise SigningKeyError(f"no <kid>.pem private keys in {path} (run `make jwt-keys` to create one)")
        signing = {file.name.removesuffix(".pem"): _load_private_key(file) for file in files}
        active = active_kid if active_kid is not None else max(signing)
        if active not in signing:
            raise SigningKeyError(f"the active kid {active!r} has no key in {path}")
        verifying = {kid: key.public_key() for kid, key in signing.items()}
        return cls(algorithm="RS256", active_kid=active, signing=signing, verifying=verifying)

    @property
    def algorithm(self) -> Algorithm:
        return self._algorithm

    @property
    def active_kid(self) -> str:
        return self._active_kid

    @property
    def kids(self) -> list[str]:
        return sorted(self._verifying)

    @property
    def signing_key(self) -> Any:
        """The HS256 secret (str) or the active RSA private key."""
        return self._signing[self._active_kid]

    def verification_key(self, kid: str) -> Any | None:
        """The key for a token's `kid`, or None: a lookup in the fixed map, whatever the string holds."""
        return self._verifying.get(kid) if isinstance(kid, str) else None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWK Set (RFC 7517), by kid; empty for HS256, whose secret never leaves the service."""
        if self._algorithm != "RS256":
            return {"keys": []}
        keys = []
        for kid in self.kids:
            public: RSAPublicKey = self._verifying[kid]
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
            # Only the public members, named explicitly: nothing private can slip in through the library's output.
            keys.append({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": jwk["n"], "e": jwk["e"]})
        return {"keys": keys}


def _check_kid(kid: str, *, where: str) -> None:
    if not KID.fullmatch(kid):
        raise SigningKeyError(f"{where}: a kid is 1 to 64 letters, digits, '-' or '_'")


def _load_private_key(file: Path) -> RSAPrivateKey:
    _check_kid(file.name.removesuffix(".pem"), where=file.name)
    try:
        key = load_pem_private_key(file.read_bytes(), password=None)
    except OSError as error:
        raise SigningKeyError(f"{file.name}: cannot be read ({type(error).__name__})") from None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # `from None`: the parser's message could quote part of the file.
        raise SigningKeyError(f"{file.name}: not an unencrypted PEM private key") from None
    if not isinstance(key, RSAPrivateKey):
        raise SigningKeyError(f"{file.name}: not an RSA key")
    if key.key_size < MIN_RSA_BITS:
        raise SigningKeyError(f"{file.name}: {key.key_size}-bit RSA is too weak (at least {MIN_RSA_BITS})")
    return key
