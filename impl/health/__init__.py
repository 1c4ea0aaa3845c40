"""Health, liveness and readiness probes: the implementation of the spec's `health` tag."""
