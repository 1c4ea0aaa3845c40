"""`make jwt-keys`: write a new RS256 token-signing key, `<DIR>/<kid>.pem`, for JWT_ALGORITHM=RS256.

The service signs with the last kid in name order and verifies with all of them, so the default kid
(`rs256-<UTC date>-<random>`) makes a new key take over while tokens signed with the older ones stay valid until
they expire. The file is a PKCS#8 PEM private key readable by its owner only (0600); the key itself is never
printed. Keys are secrets: keep them out of git (`var/` and `keys/` are ignored) and out of images.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import secrets
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The same rule as impl.auth.signing_keys.KID (not imported: this runs as a plain script too).
KID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MIN_BITS = 2048
DEFAULT_BITS = 3072  # NIST SP 800-57: 128-bit security, good beyond 2030


def default_kid() -> str:
    today = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    return f"rs256-{today}-{secrets.token_hex(2)}"


def write_key(*, out: Path, kid: str, bits: int) -> Path:
    """Create ``out/<kid>.pem``; refuses to overwrite an existing file (FileExistsError)."""
    if not KID.fullmatch(kid):
        raise ValueError("a kid is 1 to 64 letters, digits, '-' or '_'")
    if bits < MIN_BITS:
        raise ValueError(f"an RSA key needs at least {MIN_BITS} bits")
    if not out.exists():
        out.mkdir(mode=0o700, parents=True)
        out.chmod(0o700)  # mkdir's mode is reduced by the umask
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    path = out / f"{kid}.pem"
    # O_EXCL: never replace a key (tokens signed with it would stop verifying), even if one appears meanwhile.
    # The mode is set at creation, so the key is never readable by others, not even for an instant.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, pem)
    finally:
        os.close(descriptor)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="the keys directory (JWT_KEYS_DIR)")
    parser.add_argument("--kid", default=None, help="key id and file name; default rs256-<YYYYMMDD>-<hex>")
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS, help=f"RSA modulus size (default {DEFAULT_BITS})")
    args = parser.parse_args(argv)
    kid = args.kid or default_kid()
    try:
        path = write_key(out=args.out, kid=kid, bits=args.bits)
    except FileExistsError:
        print(f"generate_jwt_keys: {args.out / (kid + '.pem')} exists; not overwriting it", file=sys.stderr)
        return 1
    except (ValueError, OSError) as error:
        print(f"generate_jwt_keys: {error}", file=sys.stderr)
        return 1
    print(f"generate_jwt_keys: wrote {path} (kid {kid})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
