"""Signing keys: a fixed kid → key map built once, refusing weak or broken keys, and publishing public keys only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from impl.auth.signing_keys import SigningKeyError, SigningKeys
from impl.auth.tokens import TokenService
from scripts.generate_jwt_keys import write_key

pytestmark = pytest.mark.unit

SECRET = "a test secret of at least thirty-two bytes"
PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys") / "jwt"
    for kid in ("rs256-20240101-0001", "rs256-20250101-0002"):
        write_key(out=directory, kid=kid, bits=2048)
    return directory


def copy_keys(source: Path, target: Path) -> Path:
    target.mkdir(exist_ok=True)
    for file in source.glob("*.pem"):
        (target / file.name).write_bytes(file.read_bytes())
    return target


def pem(key: Any, *, encryption: serialization.KeySerializationEncryption | None = None) -> bytes:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        encryption or serialization.NoEncryption(),
    )
    return data


# --- HS256 ------------------------------------------------------------------------------------------------------


def test_a_symmetric_key_map_holds_one_secret_and_publishes_nothing() -> None:
    keys = SigningKeys.symmetric(secret=SECRET)

    assert (keys.algorithm, keys.active_kid, keys.kids) == ("HS256", "hs256-1", ["hs256-1"])
    assert keys.signing_key == SECRET
    assert keys.verification_key("hs256-1") == SECRET
    assert keys.jwks() == {"keys": []}


def test_the_secret_never_appears_in_the_repr() -> None:
    keys = SigningKeys.symmetric(secret=SECRET, kid="dev")
    assert SECRET not in repr(keys)
    assert "dev" in repr(keys)


@pytest.mark.parametrize("secret", ["", "short", "x" * 31])
def test_a_secret_shorter_than_the_hash_output_is_refused(secret: str) -> None:
    with pytest.raises(SigningKeyError, match="32 bytes"):
        SigningKeys.symmetric(secret=secret)


@pytest.mark.parametrize("kid", ["", "../x", "a b", "k" * 65])
def test_a_symmetric_kid_must_be_a_plain_name(kid: str) -> None:
    with pytest.raises(SigningKeyError):
        SigningKeys.symmetric(secret=SECRET, kid=kid)


# --- RS256 from a directory -------------------------------------------------------------------------------------


def test_every_pem_in_the_directory_verifies_and_the_last_kid_signs(key_dir: Path) -> None:
    keys = SigningKeys.from_directory(key_dir)

    assert keys.algorithm == "RS256"
    assert keys.kids == ["rs256-20240101-0001", "rs256-20250101-0002"]
    assert keys.active_kid == "rs256-20250101-0002"
    assert isinstance(keys.signing_key, rsa.RSAPrivateKey)
    for kid in keys.kids:
        assert isinstance(keys.verification_key(kid), rsa.RSAPublicKey)
    active_public = keys.verification_key(keys.active_kid)
    assert active_public is not None
    assert keys.signing_key.public_key().public_numbers() == active_public.public_numbers()


def test_the_active_kid_can_be_chosen_but_must_exist(key_dir: Path) -> None:
    assert SigningKeys.from_directory(key_dir, active_kid="rs256-20240101-0001").active_kid == "rs256-20240101-0001"
    with pytest.raises(SigningKeyError, match="active kid"):
        SigningKeys.from_directory(key_dir, active_kid="rs256-20990101-ffff")


@pytest.mark.parametrize("kid", ["../x", "' OR 1=1--", "", "rs256-20240101-0001.pem", "RS256-20240101-0001", "*"])
def test_a_kid_is_only_ever_looked_up_in_the_map(key_dir: Path, kid: str) -> None:
    (key_dir.parent / "x.pem").write_bytes((key_dir / "rs256-20240101-0001.pem").read_bytes())  # a file at ../x.pem
    keys = SigningKeys.from_directory(key_dir)
    assert keys.verification_key(kid) is None


def test_a_non_string_kid_finds_nothing(key_dir: Path) -> None:
    keys = SigningKeys.from_directory(key_dir)
    odd: Any = 1
    assert keys.verification_key(odd) is None
    assert keys.verification_key(["rs256-20240101-0001"]) is None  # type: ignore[arg-type]


def test_no_directory_or_an_empty_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="does not exist"):
        SigningKeys.from_directory(tmp_path / "missing")
    (tmp_path / "README").write_text("keys go here")
    with pytest.raises(SigningKeyError, match=r"no <kid>\.pem"):
        SigningKeys.from_directory(tmp_path)


def test_a_key_below_2048_bits_is_refused(tmp_path: Path) -> None:
    (tmp_path / "weak.pem").write_bytes(pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)))  # noqa: S505 - the point
    with pytest.raises(SigningKeyError, match="1024-bit RSA is too weak"):
        SigningKeys.from_directory(tmp_path)


def test_a_non_rsa_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ec.pem").write_bytes(pem(ec.generate_private_key(ec.SECP256R1())))
    with pytest.raises(SigningKeyError, match="not an RSA key"):
        SigningKeys.from_directory(tmp_path)


def test_a_file_that_is_not_a_private_key_is_refused_without_quoting_it(key_dir: Path, tmp_path: Path) -> None:
    directory = copy_keys(key_dir, tmp_path / "keys")
    public = SigningKeys.from_directory(key_dir).verification_key("rs256-20240101-0001")
    assert public is not None
    (directory / "public.pem").write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(SigningKeyError, match=r"public\.pem: not an unencrypted PEM private key"):
        SigningKeys.from_directory(directory)

    (directory / "public.pem").write_text(
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWlzaC1ieXRlcw==\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(SigningKeyError) as caught:
        SigningKeys.from_directory(directory)
    assert "c2VjcmV0" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_an_encrypted_key_is_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "locked.pem").write_bytes(pem(key, encryption=serialization.BestAvailableEncryption(b"pw")))
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM private key"):
        SigningKeys.from_directory(tmp_path)


@pytest.mark.parametrize("name", ["bad kid.pem", "k" * 65 + ".pem", "a.b.pem"])
def test_a_file_name_that_is_not_a_valid_kid_is_refused(key_dir: Path, tmp_path: Path, name: str) -> None:
    directory = copy_keys(key_dir, tmp_path / "keys")
    (directory / name).write_bytes((key_dir / "rs256-20240101-0001.pem").read_bytes())
    with pytest.raises(SigningKeyError, match="a kid is 1 to 64"):
        SigningKeys.from_directory(directory)


def test_a_directory_named_like_a_key_is_refused(key_dir: Path, tmp_path: Path) -> None:
    directory = copy_keys(key_dir, tmp_path / "keys")
    (directory / "zzz.pem").mkdir()
    with pytest.raises(SigningKeyError, match=r"zzz\.pem: cannot be read"):
        SigningKeys.from_directory(directory)


# --- the JWKS ---------------------------------------------------------------------------------------------------


def test_the_jwks_lists_every_public_key_by_kid_and_nothing_private(key_dir: Path) -> None:
    keys = SigningKeys.from_directory(key_dir)

    jwks = keys.jwks()

    assert [entry["kid"] for entry in jwks["keys"]] == keys.kids
    for entry in jwks["keys"]:
        assert set(entry) == {"kty", "kid", "use", "alg", "n", "e"}
        assert not PRIVATE_JWK_MEMBERS & set(entry)
        assert (entry["kty"], entry["use"], entry["alg"]) == ("RSA", "sig", "RS256")
        assert entry["e"] == "AQAB"
    assert json.loads(json.dumps(jwks)) == jwks


def test_a_client_can_verify_a_token_with_the_published_jwk(key_dir: Path) -> None:
    keys = SigningKeys.from_directory(key_dir)
    token, _ = TokenService(keys=keys, issuer="charter", audience="charter-api").issue(
        token_type="access", subject="user-1", family_id="s", role="user"
    )
    kid = jwt.get_unverified_header(token)["kid"]
    entry = next(entry for entry in keys.jwks()["keys"] if entry["kid"] == kid)

    jwk = jwt.PyJWK(entry)
    claims = jwt.decode(token, jwk.key, algorithms=[jwk.algorithm_name], audience="charter-api", issuer="charter")

    assert claims["sub"] == "user-1"
    other = next(entry for entry in keys.jwks()["keys"] if entry["kid"] != kid)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, jwt.PyJWK(other).key, algorithms=["RS256"], audience="charter-api", issuer="charter")
