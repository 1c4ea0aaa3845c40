"""A small Server-Sent Events reader for the tests: frames from a streaming httpx response, validated by the spec."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from pydantic import BaseModel

from generated import models

EVENTS = "/api/v1/sse/stream"
SCHEMAS: dict[str, type[BaseModel]] = {"tick": models.TickEventData, "reset": models.ResetEventData}


@dataclass(frozen=True)
class Frame:
    id: str | None
    event: str | None
    data: Any
    retry: int | None
    comment: str | None


def frames(response: httpx.Response) -> Iterator[Frame]:
    """Each frame (up to a blank line) as it arrives; every event is checked against the spec's schemas."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                yield _frame(fields)
                fields = {}
            continue
        if line.startswith(":"):
            fields["comment"] = line[1:].strip()
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")


def _frame(fields: dict[str, str]) -> Frame:
    data = None
    if "event" in fields:
        models.SseEvent.model_validate(fields)  # the frame as the spec's SseEvent describes it
        schema = SCHEMAS.get(fields["event"], models.EventEnvelope)
        data = schema.model_validate_json(fields["data"]).model_dump(mode="json")
    return Frame(
        id=fields.get("id"),
        event=fields.get("event"),
        data=data,
        retry=int(fields["retry"]) if "retry" in fields else None,
        comment=fields.get("comment"),
    )


def next_event(stream: Iterator[Frame]) -> Frame:
    """The next bus event (skipping ticks, heartbeats and the retry frame)."""
    for frame in stream:
        if frame.event is not None and frame.event not in ("tick",):
            return frame
    raise AssertionError("the stream ended")
