"""impl/auth/verified_tokens.py, and TokenService using it: verified access tokens are remembered, not trusted."""

from __future__ import annotations

import jwt
import pytest

from impl.auth.signing_keys import SigningKeys
from impl.auth.tokens import InvalidTokenError, TokenService
from impl.auth.verified_tokens import TimeClaims, VerifiedTokens

pytestmark = pytest.mark.unit

TIMES = TimeClaims(expires_at=2_000, not_before=1_000, issued_at=1_000)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def service(clock: Clock) -> TokenService:
    keys = SigningKeys.symmetric(secret="a-test-secret-that-is-long-enough-for-hs256")
    return TokenService(keys=keys, issuer="charter", audience="charter-api", leeway_seconds=10, clock=clock)


def test_the_oldest_entry_goes_first_when_full() -> None:
    tokens: VerifiedTokens[str] = VerifiedTokens(max_entries=2)
    tokens.put("a", "claims a", TIMES)
    tokens.put("b", "claims b", TIMES)
    tokens.put("a", "claims a again", TIMES)  # already there: nothing is evicted
    assert len(tokens) == 2
    tokens.put("c", "claims c", TIMES)
    assert tokens.get("a") is None
    assert tokens.get("b") == ("claims b", TIMES)
    assert tokens.get("c") == ("claims c", TIMES)
    tokens.forget("b")
    assert tokens.get("b") is None
    with pytest.raises(ValueError, match="at least 1"):
        VerifiedTokens(max_entries=0)


def test_a_second_verification_of_an_access_token_skips_the_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(1_000_000)
    tokens = service(clock)
    token, issued = tokens.issue(token_type="access", subject="u1", family_id="f1", role="user")
    first = tokens.verify(token, expected_type="access")
    assert first == issued

    def no_decoding(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr(jwt, "decode", no_decoding)
    assert tokens.verify(token, expected_type="access") == first


def test_a_remembered_token_still_expires_on_the_service_clock() -> None:
    clock = Clock(1_000_000)
    tokens = service(clock)
    token, issued = tokens.issue(token_type="access", subject="u1", family_id="f1", role="user")
    tokens.verify(token, expected_type="access")
    clock.now = issued.expires_at + 9  # within the 10 s leeway: still valid
    assert tokens.verify(token, expected_type="access") == issued
    clock.now = issued.expires_at + 10
    with pytest.raises(InvalidTokenError, match="expired"):
        tokens.verify(token, expected_type="access")
    clock.now = 1_000_000  # forgotten on expiry: back in time, it is verified in full (and valid) again
    assert tokens.verify(token, expected_type="access") == issued


def test_a_remembered_token_is_not_valid_before_its_time_on_a_clock_set_back() -> None:
    clock = Clock(1_000_000)
    tokens = service(clock)
    token, _ = tokens.issue(token_type="access", subject="u1", family_id="f1", role="user")
    tokens.verify(token, expected_type="access")
    clock.now = 1_000_000 - 11  # nbf and iat are 1_000_000; 10 s of leeway
    with pytest.raises(InvalidTokenError, match="not yet valid"):
        tokens.verify(token, expected_type="access")


def test_a_remembered_access_token_is_still_no_refresh_token_and_a_tampered_one_is_checked() -> None:
    clock = Clock(1_000_000)
    tokens = service(clock)
    token, _ = tokens.issue(token_type="access", subject="u1", family_id="f1", role="user")
    tokens.verify(token, expected_type="access")
    with pytest.raises(InvalidTokenError, match="wrong token type"):
        tokens.verify(token, expected_type="refresh")
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidTokenError):
        tokens.verify(tampered, expected_type="access")


def test_failures_are_not_remembered() -> None:
    clock = Clock(1_000_000)
    tokens = service(clock)
    for _ in range(3):
        with pytest.raises(InvalidTokenError):
            tokens.verify("not.a.token", expected_type="access")
    assert len(tokens._verified) == 0
