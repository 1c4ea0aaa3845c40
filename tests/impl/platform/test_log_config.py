"""Logging configuration: every line, whoever wrote it, rendered the same way, with the request's context."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest
import structlog

from impl.platform.log_config import HANDLER_NAME, ServiceHandler, access_handler, configure_logging
from impl.platform.log_context import begin_request_context, bind_log_context, end_request_context
from tests.impl.platform.log_capture import captured_logs

pytestmark = pytest.mark.unit

COMMON_KEYS = {"timestamp", "level", "logger", "event"}
# A syntactically real JWT (header {"alg":"HS256","typ":"JWT"}); only its shape matters to the redaction.
A_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def test_stdlib_structlog_and_uvicorn_lines_are_json_with_the_same_keys() -> None:
    with captured_logs() as logs:
        logging.getLogger("charter.somewhere").info("stdlib says %s", "hello")
        structlog.stdlib.get_logger("charter.elsewhere").info("structlog says", answer=42)
        # uvicorn adds an ANSI-coloured copy of the message as an extra: not wanted in either format.
        logging.getLogger("uvicorn.error").info("Application startup complete.", extra={"color_message": "\x1b[1m"})

    lines = logs.lines()
    assert [line["event"] for line in lines] == ["stdlib says hello", "structlog says", "Application startup complete."]
    assert all(line.keys() >= COMMON_KEYS for line in lines)
    assert [line["logger"] for line in lines] == ["charter.somewhere", "charter.elsewhere", "uvicorn.error"]
    assert {line["level"] for line in lines} == {"info"}
    assert lines[1]["answer"] == 42
    assert "color_message" not in lines[2]
    assert all(datetime.fromisoformat(line["timestamp"]).utcoffset() is not None for line in lines)


def test_the_request_context_is_on_every_line_until_the_request_ends() -> None:
    with captured_logs() as logs:
        begin_request_context(request_id="req-1", trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
        bind_log_context(user_id="0b0e7d4e-0000-4000-8000-000000000001")
        logging.getLogger("charter.somewhere").warning("inside")
        end_request_context()
        logging.getLogger("charter.somewhere").warning("outside")

    inside, outside = logs.lines()
    assert inside["request_id"] == "req-1"
    assert inside["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inside["user_id"] == "0b0e7d4e-0000-4000-8000-000000000001"
    assert not {"request_id", "trace_id", "user_id"} & outside.keys()


def test_a_request_without_a_trace_has_no_trace_id_key() -> None:
    with captured_logs() as logs:
        begin_request_context(request_id="req-2", trace_id=None)
        logging.getLogger("charter.somewhere").warning("no trace")
        end_request_context()

    (line,) = logs.lines()
    assert line["request_id"] == "req-2"
    assert "trace_id" not in line


def test_the_level_setting_filters_both_kinds_of_logger() -> None:
    with captured_logs(level="warning") as logs:
        logging.getLogger("charter.somewhere").info("hidden")
        structlog.stdlib.get_logger("charter.somewhere").info("hidden too")
        logging.getLogger("charter.somewhere").warning("shown")
        structlog.stdlib.get_logger("charter.somewhere").error("shown too")

    assert [line["event"] for line in logs.lines()] == ["shown", "shown too"]


def test_uvicorn_access_lines_are_off_and_sql_is_never_logged_at_info() -> None:
    with captured_logs(level="debug"):
        # uvicorn decides per connection with hasHandlers(): False means it does not even format its line.
        assert not logging.getLogger("uvicorn.access").hasHandlers()
        # SQLAlchemy logs every statement with its parameters at INFO once its effective level allows it.
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
        assert logging.getLogger("charter.somewhere").isEnabledFor(logging.DEBUG)


def test_configuring_again_replaces_the_handler_instead_of_adding_one() -> None:
    with captured_logs() as logs:
        configure_logging(level="info", log_format="json", stream=logs.buffer)
        configure_logging(level="info", log_format="json", stream=logs.buffer)
        logging.getLogger("charter.somewhere").warning("once")

        assert [h.get_name() for h in logging.getLogger().handlers].count(HANDLER_NAME) == 1
    assert [line["event"] for line in logs.lines()] == ["once"]


def test_console_format_is_readable_text_with_the_same_fields() -> None:
    with captured_logs(log_format="console") as logs:
        begin_request_context(request_id="req-3", trace_id=None)
        structlog.stdlib.get_logger("charter.somewhere").warning("for people", password="hunter2")
        end_request_context()

    text = logs.text
    assert "for people" in text
    assert "request_id=req-3" in text
    assert "hunter2" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


@pytest.mark.parametrize("log_format", ["json", "console"])
def test_exception_messages_and_tracebacks_are_redacted(log_format: str) -> None:
    with captured_logs(log_format="json" if log_format == "json" else "console") as logs:
        try:
            raise RuntimeError(f"refused token {A_JWT} for password=hunter2")
        except RuntimeError:
            logging.getLogger("charter.somewhere").exception("it failed")

    assert "RuntimeError: refused token [REDACTED] for password=[REDACTED]" in logs.text
    assert A_JWT not in logs.text
    assert "hunter2" not in logs.text


def test_caplog_still_sees_records_from_both_kinds_of_logger(caplog: pytest.LogCaptureFixture) -> None:
    with captured_logs(), caplog.at_level(logging.INFO, logger="charter.somewhere"):
        logging.getLogger("charter.somewhere").info("from stdlib")
        structlog.stdlib.get_logger("charter.somewhere").info("from structlog", detail="x")

    records = [record for record in caplog.records if record.name == "charter.somewhere"]
    assert [record.levelno for record in records] == [logging.INFO, logging.INFO]
    assert "from stdlib" in caplog.text
    assert "from structlog" in caplog.text


class CountedWrites(io.StringIO):
    """A stream that remembers each write it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def _sink() -> ServiceHandler:
    handler = access_handler()
    assert handler is not None
    return handler


# An access line as the edge's records give it: its fields, the request's log context, its time.
Line = tuple[dict[str, Any], Mapping[str, Any], float]


def line(fields: dict[str, Any], context: Mapping[str, Any] | None = None) -> Line:
    return fields, context if context is not None else {}, time.time()


def as_is(entry: Line) -> Line:
    return entry


def test_access_lines_handed_over_together_go_out_in_one_write_with_their_context_and_time() -> None:
    stream = CountedWrites()
    made = time.time() - 5  # made a while ago: the line's time is the record's, not the write's
    with captured_logs(buffer=stream) as logs:
        _sink().write_lines(
            as_is,
            [
                ({"route": "/a", "status": 200}, {"request_id": "req-a"}, made),
                ({"route": "/b", "status": 201}, {"request_id": "req-b"}, made),
            ],
        )
        first, second = logs.access_lines()
    assert len(stream.writes) == 1
    assert (first["request_id"], first["route"], first["status"]) == ("req-a", "/a", 200)
    assert (second["request_id"], second["route"], second["status"]) == ("req-b", "/b", 201)
    assert first["logger"] == second["logger"] == "charter.access"
    assert abs(datetime.fromisoformat(first["timestamp"]).timestamp() - made) < 0.001


def test_no_access_line_is_written_when_info_is_filtered_out_or_the_handler_is_not_ours() -> None:
    with captured_logs(level="warning"):
        assert access_handler() is None
    with captured_logs():
        assert access_handler() is not None
        logging.getLogger().handlers[:] = [logging.StreamHandler(io.StringIO())]
        assert access_handler() is None


def test_a_line_that_cannot_be_rendered_is_reported_and_the_others_are_written(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def line_of(route: str) -> Line:
        if route == "/broken":
            raise RuntimeError("no fields")
        return line({"route": route})

    with captured_logs() as logs:
        _sink().write_lines(line_of, ["/before", "/broken", "/after"])

    assert [entry["route"] for entry in logs.access_lines()] == ["/before", "/after"]
    assert "an access line could not be rendered" in capsys.readouterr().err


def test_a_context_value_json_cannot_encode_is_rendered_as_the_renderer_would() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    with captured_logs() as logs:
        _sink().write_lines(as_is, [line({"route": "/odd", "big": 2**70}, {"thing": Opaque()})])
    (entry,) = logs.access_lines()
    assert (entry["route"], entry["big"], entry["thing"]) == ("/odd", 2**70, "<opaque>")
