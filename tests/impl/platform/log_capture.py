"""The service's real logging configuration, rendering into a buffer, and put back as it was afterwards.

Logging is process-wide: a test that configures it must not leave JSON handlers and levels behind for the rest of
the suite (other tests rely on pytest's defaults and on ``caplog``).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog

from impl.platform.log_config import CHATTY_LOGGERS, UVICORN_ACCESS, UVICORN_LOGGERS, LogFormat, configure_logging
from impl.platform.log_context import end_request_context
from impl.platform.middleware.answered import AnsweredRequests


@dataclass
class CapturedLogs:
    buffer: io.StringIO
    followed: list[AnsweredRequests] = field(default_factory=list)

    def follow(self, answered: AnsweredRequests) -> None:
        """Reads of the lines flush this app's answered requests first (their access lines otherwise wait for the
        end of the event loop's iteration, which a test client's loop in another thread reaches when it will)."""
        self.followed.append(answered)

    @property
    def text(self) -> str:
        for answered in self.followed:
            answered.flush()
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every rendered line, parsed: fails the test if any line is not a JSON object."""
        parsed = [json.loads(line) for line in self.text.splitlines() if line]
        assert all(isinstance(line, dict) for line in parsed)
        return parsed

    def access_lines(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "charter.access"]


@contextmanager
def captured_logs(
    *, level: str = "info", log_format: LogFormat = "json", buffer: io.StringIO | None = None
) -> Iterator[CapturedLogs]:
    root = logging.getLogger()
    touched = [logging.getLogger(name) for name in (*UVICORN_LOGGERS, UVICORN_ACCESS, *CHATTY_LOGGERS)]
    saved_root = (list(root.handlers), root.level)
    saved = [(logger, list(logger.handlers), logger.propagate, logger.level) for logger in touched]
    buffer = io.StringIO() if buffer is None else buffer
    configure_logging(level=level, log_format=log_format, stream=buffer)
    try:
        yield CapturedLogs(buffer)
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for logger, handlers, propagate, logger_level in saved:
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(logger_level)
        structlog.reset_defaults()
        end_request_context()
