"""Logging configuration: every line, whoever wrote it, rendered the same way, with the request's context."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import pytest
import structlog

from impl.platform.log_config import HANDLER_NAME, configure_logging
from impl.platform.log_context import begin_request_context, bind_log_context, end_request_context
from tests.impl.platform.log_capture import captured_logs

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
