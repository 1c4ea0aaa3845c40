"""The trace ID of a W3C ``traceparent`` header: taken when valid, ignored otherwise."""

from __future__ import annotations

import pytest

from impl.platform.log_context import trace_id_from

pytestmark = pytest.mark.unit

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize(
    "header",
    [
        f"00-{TRACE}-00f067aa0ba902b7-01",
        f"00-{TRACE}-00f067aa0ba902b7-00",
        f"  00-{TRACE}-00f067aa0ba902b7-01 ",
        # A later version may append fields; its first four are still understood (W3C Trace Context §4.3).
        f"01-{TRACE}-00f067aa0ba902b7-01-future-stuff",
    ],
)
def test_a_valid_traceparent_gives_its_trace_id(header: str) -> None:
    assert trace_id_from(header) == TRACE


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"ff-{TRACE}-00f067aa0ba902b7-01",  # version ff is forbidden
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",  # version 00 has exactly four fields
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",  # upper-case hex is invalid
        f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",  # too short
    ],
)
def test_an_absent_or_invalid_traceparent_gives_none(header: str | None) -> None:
    assert trace_id_from(header) is None
