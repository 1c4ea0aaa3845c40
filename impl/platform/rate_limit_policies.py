"""Rate-limit policies: declared in the spec (`x-rate-limit-policies`), overridable per deployment in Settings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal, cast

from impl.platform.rate_limit import RateLimitPolicy, StrategyName, parse_rate


class PolicyError(ValueError):
    """The spec's policies or a configured override are not usable; the service refuses to start."""


def policies_from_spec(
    declared: Mapping[str, Any], *, override: Callable[[str], str | None]
) -> dict[str, RateLimitPolicy]:
    """One policy per entry of the spec's ``x-rate-limit-policies``; ``override(name)`` may give ``"<n>/<seconds>"``."""
    policies: dict[str, RateLimitPolicy] = {}
    for name, entry in declared.items():
        try:
            amount, window = int(entry["limit"]), int(entry["window_seconds"])
            configured = override(name)
            if configured:
                amount, window = parse_rate(configured)
            policies[name] = RateLimitPolicy(
                name=name,
                amount=amount,
                window_seconds=window,
                strategy=cast(StrategyName, entry.get("strategy", "moving-window")),
                fail_closed=entry.get("on_store_failure", "refuse") != "allow",
                counted_per=cast(Literal["caller", "session"], entry.get("counted_per", "caller")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PolicyError(f"rate-limit policy {name!r}: {error}") from error
    return policies
