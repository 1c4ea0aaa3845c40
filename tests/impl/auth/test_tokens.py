"""Tokens: what the service issues verifies, and every forgery or misuse RFC 8725 lists is an InvalidTokenError.

Forgeries are signed by hand (HMAC / RSA PKCS#1 v1.5 over ``header.payload``) with the service's own key, so each
test changes exactly one thing and proves that one check rejects it; PyJWT's encoder would refuse some of them.
RS256 keys come from scripts/generate_jwt_keys.py (2048 bits, for speed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from impl.auth.signing_keys import SigningKeys
from impl.auth.tokens import MAX_TOKEN_LENGTH, REQUIRED_CLAIMS, InvalidTokenError, TokenService, TokenType
from scripts.generate_jwt_keys import write_key

pytestmark = pytest.mark.unit

ISSUER = "charter"
AUDIENCE = "charter-api"
NOW = 1_750_000_000
LEEWAY = 10
OLD_KID = "rs256-20250101-aaaa"
NEW_KID = "rs256-20250601-bbbb"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def rsa_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("jwt-keys") / "keys"
    write_key(out=directory, kid=OLD_KID, bits=2048)
    write_key(out=directory, kid=NEW_KID, bits=2048)
    return directory


@pytest.fixture(scope="module")
def rs256(rsa_dir: Path) -> SigningKeys:
    return SigningKeys.from_directory(rsa_dir)


@pytest.fixture(scope="module")
def hs256() -> SigningKeys:
    return SigningKeys.symmetric(secret="a test secret of at least thirty-two bytes")


@pytest.fixture(params=["HS256", "RS256"])
def keys(request: pytest.FixtureRequest) -> SigningKeys:
    fixture: SigningKeys = request.getfixturevalue(request.param.lower())
    return fixture


@pytest.fixture
def clock() -> Clock:
    return Clock()


def service_for(keys: SigningKeys, clock: Clock, **overrides: Any) -> TokenService:
    options: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE, "leeway_seconds": LEEWAY, **overrides}
    return TokenService(keys=keys, clock=clock, **options)


@pytest.fixture
def service(keys: SigningKeys, clock: Clock) -> TokenService:
    return service_for(keys, clock)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode("utf-8"))


def forge(keys: SigningKeys, header: Any, payload: Any, *, private_key: Any = None) -> str:
    """A token signed with the service's own key (or ``private_key``), whatever the header and payload hold."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    key = private_key if private_key is not None else keys.signing_key
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = hmac.new(key.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def genuine_parts(keys: SigningKeys, kind: TokenType = "access") -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and payload of a valid token, as the service would issue it now."""
    header = {"alg": keys.algorithm, "kid": keys.active_kid, "typ": "at+jwt" if kind == "access" else "rt+jwt"}
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "3f1c2a9e-8b1d-4c55-9f5e-1d2c3b4a5f60",
        "jti": "jti-1",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 900,
        "sid": "session-1",
        "token_use": kind,
    }
    if kind == "access":
        payload["role"] = "user"
    return header, payload


def assert_invalid(service: TokenService, token: Any, expected_type: TokenType = "access") -> InvalidTokenError:
    with pytest.raises(InvalidTokenError) as caught:
        service.verify(token, expected_type=expected_type)
    if isinstance(token, str) and len(token) > 8:
        assert token not in str(caught.value)  # the token is never echoed
    return caught.value


# --- what the service issues ------------------------------------------------------------------------------------


def test_an_access_token_round_trips(service: TokenService, keys: SigningKeys) -> None:
    token, issued = service.issue(token_type="access", subject="user-1", family_id="session-1", role="admin")

    claims = service.verify(token, expected_type="access")

    assert claims == issued
    assert (claims.subject, claims.family_id, claims.role, claims.token_type) == (
        "user-1",
        "session-1",
        "admin",
        "access",
    )
    assert (claims.issued_at, claims.expires_at) == (NOW, NOW + service.access_ttl_seconds)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": keys.algorithm, "kid": keys.active_kid, "typ": "at+jwt"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["nbf"] == payload["iat"] == NOW
    assert (payload["iss"], payload["aud"], payload["token_use"], payload["sid"]) == (
        ISSUER,
        AUDIENCE,
        "access",
        "session-1",
    )


def test_a_refresh_token_round_trips_and_carries_no_role(service: TokenService) -> None:
    token, issued = service.issue(token_type="refresh", subject="user-1", family_id="session-1", role="admin")

    claims = service.verify(token, expected_type="refresh")

    assert claims == issued
    assert claims.role is None
    assert claims.expires_at == NOW + service.refresh_ttl_seconds
    assert jwt.get_unverified_header(token)["typ"] == "rt+jwt"
    assert "role" not in jwt.decode(token, options={"verify_signature": False})


def test_every_token_gets_its_own_random_jti_unless_one_is_given(service: TokenService) -> None:
    ids = {service.issue(token_type="refresh", subject="u", family_id="s")[1].token_id for _ in range(50)}
    assert len(ids) == 50
    assert all(len(token_id) >= 22 for token_id in ids)  # at least 128 random bits
    _, claims = service.issue(token_type="refresh", subject="u", family_id="s", token_id="chosen")
    assert claims.token_id == "chosen"


def test_an_access_token_without_a_role_is_not_issued(service: TokenService) -> None:
    with pytest.raises(ValueError, match="role"):
        service.issue(token_type="access", subject="user-1", family_id="session-1")


@pytest.mark.parametrize(
    "overrides",
    [
        {"leeway_seconds": 31},
        {"leeway_seconds": -1},
        {"access_ttl_seconds": 0},
        {"refresh_ttl_seconds": -5},
        {"issuer": ""},
    ],
)
def test_unsafe_configuration_is_refused(hs256: SigningKeys, clock: Clock, overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        service_for(hs256, clock, **overrides)


# --- access and refresh tokens cannot stand in for each other ---------------------------------------------------


def test_a_refresh_token_is_not_an_access_token_and_vice_versa(service: TokenService) -> None:
    access, _ = service.issue(token_type="access", subject="u", family_id="s", role="user")
    refresh, _ = service.issue(token_type="refresh", subject="u", family_id="s")

    assert assert_invalid(service, refresh, "access").reason == "wrong token type"
    assert assert_invalid(service, access, "refresh").reason == "wrong token type"


@pytest.mark.parametrize("token_type", ["access", "refresh"])
def test_the_typ_header_alone_decides(service: TokenService, keys: SigningKeys, token_type: TokenType) -> None:
    header, payload = genuine_parts(keys, token_type)
    other: TokenType = "refresh" if token_type == "access" else "access"
    header["typ"] = "rt+jwt" if other == "refresh" else "at+jwt"  # claims say token_type, header says other

    token = forge(keys, header, payload)

    assert_invalid(service, token, token_type)
    assert_invalid(service, token, other)


@pytest.mark.parametrize("token_type", ["access", "refresh"])
def test_the_token_use_claim_alone_decides(service: TokenService, keys: SigningKeys, token_type: TokenType) -> None:
    header, payload = genuine_parts(keys, token_type)
    other: TokenType = "refresh" if token_type == "access" else "access"
    payload["token_use"] = other  # header says token_type, the signed claim says other
    payload["role"] = "user"

    token = forge(keys, header, payload)

    assert service.verify(forge(keys, *genuine_parts(keys, token_type)), expected_type=token_type)  # control
    assert assert_invalid(service, token, token_type).reason == "wrong token type"
    assert_invalid(service, token, other)


@pytest.mark.parametrize("typ", [None, "JWT", "AT+JWT", "at+jwt "])
def test_a_missing_or_foreign_typ_is_refused(service: TokenService, keys: SigningKeys, typ: str | None) -> None:
    header, payload = genuine_parts(keys)
    if typ is None:
        del header["typ"]
    else:
        header["typ"] = typ
    assert_invalid(service, forge(keys, header, payload))


# --- the algorithm comes from the service, never from the token -------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "NONE", "None", "nOnE"])
def test_an_unsigned_token_is_refused(service: TokenService, keys: SigningKeys, alg: str) -> None:
    header, payload = genuine_parts(keys)
    header["alg"] = alg
    unsigned = f"{segment(header)}.{segment(payload)}."

    assert assert_invalid(service, unsigned).reason == "algorithm not accepted"
    assert_invalid(service, unsigned + "c2lnbmF0dXJl")


def test_an_hs256_token_keyed_with_the_rsa_public_key_is_refused(rs256: SigningKeys, clock: Clock) -> None:
    """The classic confusion attack: the public key, which anyone has from the JWKS, used as an HMAC secret."""
    service = service_for(rs256, clock)
    public_key = rs256.verification_key(rs256.active_kid)
    assert public_key is not None
    public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload = genuine_parts(rs256)
    header["alg"] = "HS256"
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(public_pem, signing_input.encode("ascii"), hashlib.sha256).digest()

    assert assert_invalid(service, f"{signing_input}.{b64(signature)}").reason == "algorithm not accepted"


@pytest.mark.parametrize("alg", ["RS256", "RS512", "HS512", "ES256", "PS256", None, 256, ["HS256"]])
def test_any_other_header_alg_is_refused_on_an_hs256_service(hs256: SigningKeys, clock: Clock, alg: Any) -> None:
    header, payload = genuine_parts(hs256)
    header["alg"] = alg
    assert assert_invalid(service_for(hs256, clock), forge(hs256, header, payload)).reason == "algorithm not accepted"


def test_a_token_signed_with_another_rsa_key_under_a_known_kid_is_refused(rs256: SigningKeys, clock: Clock) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge(rs256, *genuine_parts(rs256), private_key=impostor)

    assert assert_invalid(service_for(rs256, clock), token).reason == "bad signature"


def test_a_token_signed_with_another_secret_is_refused(hs256: SigningKeys, clock: Clock) -> None:
    other = SigningKeys.symmetric(secret="another secret, also thirty-two bytes or more")
    token = forge(other, *genuine_parts(hs256))

    assert assert_invalid(service_for(hs256, clock), token).reason == "bad signature"


def test_a_tampered_payload_breaks_the_signature(service: TokenService, keys: SigningKeys) -> None:
    token, _ = service.issue(token_type="access", subject="user-1", family_id="s", role="user")
    header, _, signature = token.split(".")
    _, payload = genuine_parts(keys)
    payload["role"] = "admin"

    assert assert_invalid(service, f"{header}.{segment(payload)}.{signature}").reason == "bad signature"


# --- kid is a lookup in a fixed map -----------------------------------------------------------------------------


@pytest.mark.parametrize("kid", ["../x", "' OR 1=1--", "", "hs256-1/../hs256-1", "/etc/passwd", "rs256-*", 1, ["x"]])
def test_an_unknown_kid_is_refused(service: TokenService, keys: SigningKeys, kid: Any) -> None:
    header, payload = genuine_parts(keys)
    header["kid"] = kid
    assert_invalid(service, forge(keys, header, payload))


def test_a_missing_kid_is_refused(service: TokenService, keys: SigningKeys) -> None:
    header, payload = genuine_parts(keys)
    del header["kid"]
    assert assert_invalid(service, forge(keys, header, payload)).reason == "unknown key"


# --- time, issuer, audience, required claims --------------------------------------------------------------------


def test_expiry_is_enforced_with_only_the_configured_leeway(service: TokenService, clock: Clock) -> None:
    token, claims = service.issue(token_type="access", subject="u", family_id="s", role="user")

    clock.now = claims.expires_at + LEEWAY - 1
    assert service.verify(token, expected_type="access") == claims
    clock.now = claims.expires_at + LEEWAY
    assert assert_invalid(service, token).reason == "expired"
    clock.now = claims.expires_at + 86_400
    assert_invalid(service, token)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
def test_a_token_from_the_future_is_refused_beyond_the_leeway(
    service: TokenService, keys: SigningKeys, claim: str
) -> None:
    header, payload = genuine_parts(keys)
    payload[claim] = NOW + LEEWAY
    assert service.verify(forge(keys, header, payload), expected_type="access").subject == payload["sub"]
    payload[claim] = NOW + LEEWAY + 1
    assert assert_invalid(service, forge(keys, header, payload)).reason == "not yet valid"


@pytest.mark.parametrize(
    ("claim", "value", "reason"),
    [
        ("iss", "someone-else", "wrong issuer"),
        ("iss", ["charter"], "wrong issuer"),
        ("aud", "another-api", "wrong audience"),
        ("aud", ["another-api"], "wrong audience"),
        ("aud", [], "missing claim"),
    ],
)
def test_wrong_issuer_or_audience_is_refused(
    service: TokenService, keys: SigningKeys, claim: str, value: Any, reason: str
) -> None:
    header, payload = genuine_parts(keys)
    payload[claim] = value
    assert assert_invalid(service, forge(keys, header, payload)).reason == reason


@pytest.mark.parametrize("claim", [*REQUIRED_CLAIMS, "sid", "token_use", "role"])
def test_every_required_claim_must_be_present(service: TokenService, keys: SigningKeys, claim: str) -> None:
    header, payload = genuine_parts(keys)
    assert service.verify(forge(keys, header, payload), expected_type="access")  # control
    del payload[claim]
    assert_invalid(service, forge(keys, header, payload))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("exp", "9999999999"),
        ("exp", True),
        ("exp", float("inf")),
        ("exp", float("nan")),
        ("exp", 10**400),
        ("nbf", None),
        ("iat", [NOW]),
        ("sub", 42),
        ("sub", ""),
        ("jti", {"id": 1}),
        ("sid", 7),
        ("sid", ""),
        ("role", ["admin"]),
        ("role", ""),
    ],
)
def test_claims_of_the_wrong_type_are_refused(service: TokenService, keys: SigningKeys, claim: str, value: Any) -> None:
    header, payload = genuine_parts(keys)
    payload[claim] = value
    assert_invalid(service, forge(keys, header, payload))


def test_an_unknown_critical_header_is_refused(service: TokenService, keys: SigningKeys) -> None:
    header, payload = genuine_parts(keys)
    header["crit"] = ["exp-policy"]
    header["exp-policy"] = "strict"
    assert_invalid(service, forge(keys, header, payload))


# --- garbage in, InvalidTokenError out --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a",
        "..",
        "...",
        "a.b.c",
        "a.b.c.d.e",
        "\x00",
        "Bearer x",
        "ÿ.ÿ.ÿ",
        "🙂.🙂.🙂",
        "x" * 10_000,
        "eyJ" + "A" * 9_000,
        None,
        b"a.b.c",
        42,
        ["a.b.c"],
    ],
)
def test_garbage_is_an_invalid_token(service: TokenService, token: Any) -> None:
    assert_invalid(service, token)


@pytest.mark.parametrize(
    "header",
    [["alg", "HS256"], "HS256", 42, None, {"alg": {"nested": True}}, "[" * 3000 + "]" * 3000],
    ids=["list", "string", "number", "null", "object-alg", "deep"],
)
def test_a_header_that_is_not_a_json_object_is_an_invalid_token(
    service: TokenService, keys: SigningKeys, header: Any
) -> None:
    _, payload = genuine_parts(keys)
    if isinstance(header, str) and header.startswith("["):
        raw = b64(header.encode("ascii"))  # deeply nested JSON arrays
        signing_input = f"{raw}.{segment(payload)}"
        assert_invalid(service, f"{signing_input}.{b64(b'x' * 32)}")
    else:
        assert_invalid(service, forge(keys, header, payload))


@pytest.mark.parametrize("payload", [["sub", "x"], "a string", 1, None, "[" * 2000 + "]" * 2000])
def test_a_payload_that_is_not_a_json_object_is_an_invalid_token(
    service: TokenService, keys: SigningKeys, payload: Any
) -> None:
    header, _ = genuine_parts(keys)
    if isinstance(payload, str) and payload.startswith("["):
        signing_input = f"{segment(header)}.{b64(payload.encode('ascii'))}"
        key = keys.signing_key
        if isinstance(key, rsa.RSAPrivateKey):
            signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        else:
            signature = hmac.new(key.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
        assert_invalid(service, f"{signing_input}.{b64(signature)}")
    else:
        assert_invalid(service, forge(keys, header, payload))


def test_a_validly_signed_token_longer_than_the_limit_is_refused_before_parsing(
    service: TokenService, keys: SigningKeys
) -> None:
    header, payload = genuine_parts(keys)
    payload["padding"] = "p" * MAX_TOKEN_LENGTH
    assert assert_invalid(service, forge(keys, header, payload)).reason == "malformed"


def test_random_mutations_of_a_valid_token_only_ever_raise_invalid_token(service: TokenService) -> None:
    token, _ = service.issue(token_type="access", subject="u", family_id="s", role="user")
    alphabet = string.ascii_letters + string.digits + "-_.=+/ \x00{}\"'"
    rng = random.Random(8725)  # noqa: S311 - a fixed seed, for reproducible mutations
    for _ in range(500):
        chars = list(token)
        for _ in range(rng.randint(1, 4)):
            position = rng.randrange(len(chars))
            operation = rng.choice(("replace", "delete", "insert"))
            if operation == "replace":
                chars[position] = rng.choice(alphabet)
            elif operation == "delete":
                del chars[position]
            else:
                chars.insert(position, rng.choice(alphabet))
        mutated = "".join(chars)
        if mutated == token:
            continue
        try:
            claims = service.verify(mutated, expected_type="access")
        except InvalidTokenError:
            continue
        # base64url has slack bits: a change there decodes to the same bytes, so the token is still the same.
        assert claims.subject == "u"


# --- key rotation -----------------------------------------------------------------------------------------------


def test_a_token_signed_with_an_older_key_still_verifies_after_rotation(rsa_dir: Path, clock: Clock) -> None:
    before = service_for(SigningKeys.from_directory(rsa_dir, active_kid=OLD_KID), clock)
    old_token, _ = before.issue(token_type="access", subject="u", family_id="s", role="user")

    after_keys = SigningKeys.from_directory(rsa_dir)
    after = service_for(after_keys, clock)
    new_token, _ = after.issue(token_type="access", subject="u", family_id="s", role="user")

    assert after_keys.active_kid == NEW_KID
    assert jwt.get_unverified_header(new_token)["kid"] == NEW_KID
    assert after.verify(old_token, expected_type="access").subject == "u"
    assert after.verify(new_token, expected_type="access").subject == "u"


def test_a_token_whose_key_was_retired_is_refused(rsa_dir: Path, tmp_path: Path, clock: Clock) -> None:
    old_token, _ = service_for(SigningKeys.from_directory(rsa_dir, active_kid=OLD_KID), clock).issue(
        token_type="access", subject="u", family_id="s", role="user"
    )
    retired = tmp_path / "keys"
    retired.mkdir()
    (retired / f"{NEW_KID}.pem").write_bytes((rsa_dir / f"{NEW_KID}.pem").read_bytes())

    assert assert_invalid(service_for(SigningKeys.from_directory(retired), clock), old_token).reason == "unknown key"
