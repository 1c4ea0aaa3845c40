"""The CPU job: counting primes, checked against known values of the prime-counting function pi(n)."""

from __future__ import annotations

import pytest

from impl.demo.primes import count_primes

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, 0), (2, 1), (3, 2), (10, 4), (11, 5), (100, 25), (1000, 168), (7919, 1000), (1_000_000, 78498)],
)
def test_count_primes_matches_the_prime_counting_function(n: int, expected: int) -> None:
    assert count_primes(n) == expected
