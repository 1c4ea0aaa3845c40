"""The `demo` tag: awaited I/O, a blocking call in the thread pool and CPU work in a process pool, side by side.

Kept import-light on purpose: the pool's worker processes (spawned, not forked) import :mod:`impl.demo.primes`,
and with it this package, before their first job.
"""
