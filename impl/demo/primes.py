"""The CPU-bound job of ``POST /api/v1/demo/cpu``: count the primes up to ``n``.

It runs in the pool's worker processes, so it is a top-level function of a module that imports nothing heavy (a
spawned worker imports it by name before its first job). The sieve deliberately loops in Python: the point is work
that holds the GIL, which would stall the event loop in a thread just as surely as on the loop itself.
"""

from __future__ import annotations


def count_primes(n: int) -> int:
    """How many primes are <= ``n`` (sieve of Eratosthenes; about 0.1 s for a million on one core)."""
    if n < 2:
        return 0
    composite = bytearray(n + 1)
    count = 0
    for candidate in range(2, n + 1):
        if not composite[candidate]:
            count += 1
            for multiple in range(candidate * candidate, n + 1, candidate):
                composite[multiple] = 1
    return count
