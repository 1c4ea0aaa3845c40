"""Load tests and benchmarks (run from `make`; they target 127.0.0.1 only and stop by themselves)."""
