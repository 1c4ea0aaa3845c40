"""The rate-limit policies come from the spec's `x-rate-limit-policies`; a deployment may override their numbers."""

from __future__ import annotations

from typing import Any

import pytest

from impl.platform.openapi_document import OpenApiDocument
from impl.platform.rate_limit import RateLimitPolicy
from impl.platform.rate_limit_policies import PolicyError, policies_from_spec
from impl.platform.settings import PROJECT_ROOT


def declared() -> dict[str, Any]:
    policies: dict[str, Any] = OpenApiDocument.load(PROJECT_ROOT / "spec" / "openapi.yaml").content[
        "x-rate-limit-policies"
    ]
    return policies


def no_override(name: str) -> str | None:
    return None


def test_the_spec_declares_four_policies() -> None:
    policies = policies_from_spec(declared(), override=no_override)

    assert policies == {
        "auth": RateLimitPolicy(name="auth", amount=5, window_seconds=300, strategy="moving-window", fail_closed=True),
        "refresh": RateLimitPolicy(
            name="refresh",
            amount=10,
            window_seconds=300,
            strategy="moving-window",
            fail_closed=True,
            counted_per="session",
        ),
        "uploads": RateLimitPolicy(
            name="uploads", amount=10, window_seconds=300, strategy="moving-window", fail_closed=True
        ),
        "general": RateLimitPolicy(
            name="general", amount=100, window_seconds=60, strategy="sliding-window-counter", fail_closed=False
        ),
    }


def test_an_override_changes_the_numbers_and_keeps_the_rest() -> None:
    policies = policies_from_spec(declared(), override=lambda name: "2/10" if name == "auth" else None)

    auth = policies["auth"]
    assert (auth.amount, auth.window_seconds) == (2, 10)
    assert (auth.strategy, auth.fail_closed) == ("moving-window", True)
    assert policies["general"].amount == 100


def test_limits_notation_is_accepted_as_an_override() -> None:
    policies = policies_from_spec(declared(), override=lambda name: "7/minute" if name == "general" else None)
    assert (policies["general"].amount, policies["general"].window_seconds) == (7, 60)


@pytest.mark.parametrize("nonsense", ["lots", "0/10", "5/0", "-1/10", "5/10, 6/20"])
def test_a_nonsense_override_refuses_to_start(nonsense: str) -> None:
    with pytest.raises(PolicyError, match="general"):
        policies_from_spec(declared(), override=lambda name: nonsense if name == "general" else None)


@pytest.mark.parametrize(
    "entry",
    [
        {"window_seconds": 60},
        {"limit": "many", "window_seconds": 60},
        {"limit": 5, "window_seconds": 60, "strategy": "token-bucket"},
    ],
)
def test_a_broken_declaration_refuses_to_start(entry: dict[str, Any]) -> None:
    with pytest.raises(PolicyError, match="broken"):
        policies_from_spec({"broken": entry}, override=no_override)


def test_a_policy_name_must_be_a_header_token() -> None:
    with pytest.raises(PolicyError):
        policies_from_spec({"has space": {"limit": 1, "window_seconds": 1}}, override=no_override)


def test_a_policy_counted_per_something_unknown_is_refused() -> None:
    entry = {"limit": 1, "window_seconds": 1, "counted_per": "planet"}
    with pytest.raises(PolicyError, match="counted_per"):
        policies_from_spec({"odd": entry}, override=no_override)
