"""The fixed map of token-signing keys: `kid` → key, built once at start-up, and the public JWKS.

HS256 (dev/test): one shared secret, never published. RS256 (staging/prod): every `<kid>.pem` private key in a
directory; the last kid in name order signs (name new keys by date and they rotate in) while all keep verifying.
A token's `kid` is only ever a dictionary lookup here, never a path or a query.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from jwt.algorithms import RSAAlgorithm

KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_RSA_BITS = 2048


class SigningKeyError(ValueError):
    """The configured keys cannot be used; the service refuses to start."""


@dataclass(frozen=True)
class SigningKeys:
    algorithm: Literal["HS256", "RS256"]
    active_kid: str
    _signing: dict[str, Any]
    _verifying: dict[str, Any]

    @classmethod
    def symmetric(cls, *, secret: str, kid: str = "hs256-1") -> SigningKeys:
        if not secret:
            raise SigningKeyError("the HS256 secret is empty")
        return cls("HS256", kid, {kid: secret}, {kid: secret})

    @classmethod
    def from_directory(cls, path: Path, *, active_kid: str | None = None) -> SigningKeys:
        files = sorted(path.glob("*.pem")) if path.is_dir() else []
        if not files:
            raise SigningKeyError(f"no <kid>.pem private keys in {path}")
        signing: dict[str, RSAPrivateKey] = {}
        for file in files:
            kid = file.stem
            if not KID.fullmatch(kid):
                raise SigningKeyError(f"{file.name}: a kid is 1 to 64 letters, digits, '-' or '_'")
            try:
                key = load_pem_private_key(file.read_bytes(), password=None)
            except (ValueError, TypeError) as error:
                raise SigningKeyError(f"{file.name}: not an unencrypted PEM private key") from error
            if not isinstance(key, RSAPrivateKey):
                raise SigningKeyError(f"{file.name}: not an RSA key")
            if key.key_size < MIN_RSA_BITS:
                raise SigningKeyError(f"{file.name}: {key.key_size}-bit RSA is too weak (at least {MIN_RSA_BITS})")
            signing[kid] = key
        active = active_kid or sorted(signing)[-1]
        if active not in signing:
            raise SigningKeyError(f"the active kid {active!r} has no key in {path}")
        verifying: dict[str, Any] = {kid: key.public_key() for kid, key in signing.items()}
        return cls("RS256", active, dict(signing), verifying)

    @property
    def signing_key(self) -> Any:
        return self._signing[self.active_kid]

    def verification_key(self, kid: str) -> Any | None:
        return self._verifying.get(kid) if isinstance(kid, str) else None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The public keys as a JWK Set; empty for HS256, whose secret must never leave the service."""
        if self.algorithm != "RS256":
            return {"keys": []}
        keys = []
        for kid in sorted(self._verifying):
            public: RSAPublicKey = self._verifying[kid]
            jwk = json.loads(RSAAlgorithm.to_jwk(public))
            keys.append({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": jwk["n"], "e": jwk["e"]})
        return {"keys": keys}
