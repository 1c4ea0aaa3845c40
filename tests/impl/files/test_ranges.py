"""One byte range per request (RFC 9110 §14); anything else is ignored, and a range past the end is 416."""

from __future__ import annotations

import pytest

from impl.files.ranges import ByteRange, RangeNotSatisfiableError, parse_range

pytestmark = pytest.mark.unit

SIZE = 1000


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, 999),
        ("bytes=-100", 900, 999),
        ("bytes=-5000", 0, 999),  # a suffix longer than the file is the whole file
        ("bytes=990-5000", 990, 999),  # the end is clipped to the file
        ("bytes=999-999", 999, 999),
        (" BYTES = 0 - 0 ", 0, 0),
    ],
)
def test_a_single_range_selects_those_bytes(header: str, first: int, last: int) -> None:
    selected = parse_range(header, SIZE)
    assert selected == ByteRange(first=first, last=last, size=SIZE)
    assert selected.length == last - first + 1
    assert selected.content_range == f"bytes {first}-{last}/{SIZE}"


@pytest.mark.parametrize(
    "header",
    ["bytes=0-1,5-6", "items=0-5", "bytes=5-1", "bytes=-", "bytes=abc", "0-99", "bytes=1" + "0" * 30 + "-"],
)
def test_anything_but_one_valid_byte_range_is_ignored(header: str) -> None:
    assert parse_range(header, SIZE) is None


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_a_range_past_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        parse_range(header, SIZE)
