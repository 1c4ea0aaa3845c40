"""The process's logging: structlog in front, stdlib logging underneath, one renderer for every line.

Our code, uvicorn and the libraries all log through stdlib ``logging`` (structlog's loggers too, via
``ProcessorFormatter.wrap_for_formatter``), and one handler on the root logger renders every record with the same
processors: the request's context (request_id, trace_id, user_id), timestamp, level, logger, secrets masked, then
JSON lines (one object per line, the same keys everywhere) or coloured console text for people.

Because records still travel through stdlib logging, pytest's ``caplog`` keeps working. The configuration is
process-wide by nature (logging is), so only the process entry points (``impl.main``) call it; calling it again
replaces our handler rather than adding a second one.

The one exception is the access line (one per request, the hot path): :class:`ServiceHandler` renders it with the
same context, timestamp, redaction and renderer, straight to our handler's stream. Going through stdlib (a
``LogRecord``, ``findCaller``, the formatter's copy of the record and its pre-chain) was as costly as the rest of a
``GET /health`` answer in the service (``ACCESS_LOG=false`` doubled its rate). The edge's records of one iteration
of the event loop arrive together at its end, rendered and written in one write (:meth:`ServiceHandler.write_lines`;
the way there: impl/platform/middleware/answered.py), holding the handler's lock only for the write itself.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Any, Literal, TypeVar

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from impl.platform.log_context import merge_log_context
from impl.platform.log_redaction import redact_secrets

LogFormat = Literal["json", "console"]
V = TypeVar("V")
HANDLER_NAME = "charter"
ACCESS_LOGGER = "charter.access"  # the ``logger`` key of access lines (there is no stdlib logger behind them)
# uvicorn's own access line would duplicate ours (and show raw paths): impl.platform.middleware.access_log writes it.
UVICORN_ACCESS = "uvicorn.access"
# Their records propagate to the root handler instead of being printed in uvicorn's own format.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi")
# Libraries whose INFO/DEBUG output is per statement or per operation (SQLAlchemy would log every SQL statement
# with its parameters once the root is at INFO): never below WARNING, whatever LOG_LEVEL says.
CHATTY_LOGGERS = ("sqlalchemy", "aiosqlite", "asyncpg", "redis", "httpx", "httpcore", "multipart", "python_multipart")


AccessRenderer = Callable[[dict[str, Any], Mapping[str, Any], float], str]
# What makes an access line of a record: its fields, the request's log context, its time (seconds since the epoch).
AccessLineOf = Callable[[V], tuple[dict[str, Any], Mapping[str, Any], float]]


class ServiceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the given stream, or to whatever ``sys.stderr`` is at the time of each record.

    Resolving stderr late (as logging's own last-resort handler does) keeps working when it is replaced later
    (pytest's capture, a daemon redirecting it). Access lines arrive in groups (:meth:`write_lines`), one write
    each, rendered by ``render_access`` (the same context, timestamp, redaction and renderer as every record).
    """

    def __init__(self, stream: IO[str] | None, *, render_access: AccessRenderer) -> None:
        super().__init__()
        self._fixed_stream = stream
        self.render_access = render_access

    @property
    def stream(self) -> IO[str]:
        return self._fixed_stream if self._fixed_stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass  # StreamHandler.__init__ assigns it; the property above decides

    def write_lines(self, line_of: AccessLineOf[V], records: Iterable[V]) -> None:
        """One access line (``event: request``, logger ``charter.access``) per record, from what ``line_of`` makes of
        it (its fields, the request's log context, its time), written now in one write. A line that cannot be
        rendered is reported on stderr, and the others are written."""
        render = self.render_access
        rendered = []
        for record in records:
            try:
                rendered.append(render(*line_of(record)))
            except Exception:  # noqa: BLE001 - one line that cannot be rendered: said, and the others go on
                if logging.raiseExceptions:  # as Handler.handleError does with a record it cannot format
                    sys.stderr.write("--- Logging error: an access line could not be rendered ---\n")
                    traceback.print_exc(file=sys.stderr)
        if not rendered:
            return
        self.acquire()  # as records are written: a thread's record never lands inside these lines (rendered first:
        # nothing but the write happens under the lock)
        try:
            stream = self.stream
            stream.write(self.terminator.join(rendered) + self.terminator)
            stream.flush()
        except (OSError, ValueError):  # a closed or broken stream; as logging does, no request fails for it
            pass
        finally:
            self.release()


def drop_color_message(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    # uvicorn passes an ANSI-coloured copy of its message as an ``extra``; the plain one is already the event.
    event_dict.pop("color_message", None)
    return event_dict


class UtcTimestamp:
    """structlog's ``TimeStamper(fmt="iso", utc=True)`` (``2026-11-29T12:11:45.246596Z``), a fifth of its cost.

    The date and time of day are formatted once per second; each line adds its microseconds. (``datetime.now(UTC)
    .isoformat()`` took 7 µs of each access line in a loaded server.)
    """

    def __init__(self) -> None:
        # (second, its text up to the fraction's dot): one tuple, replaced whole, as threads read it while they log.
        self._second: tuple[int, str] = (-1, "")

    def now(self) -> str:
        return self.at(time.time())

    def at(self, now: float) -> str:
        """The timestamp of ``now`` (seconds since the epoch, as ``time.time()``)."""
        second = int(now)
        cached_second, prefix = self._second
        if second != cached_second:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self._second = (second, prefix)
        micro = int((now - second) * 1_000_000)
        # As datetime.isoformat() does: no fraction at all on a whole second.
        return "%s%06dZ" % (prefix, micro) if micro else prefix[:-1] + "Z"  # noqa: UP031 - %-format: half the cost

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        event_dict["timestamp"] = self.now()
        return event_dict


add_timestamp = UtcTimestamp()


def json_line(event: Any, **kwargs: Any) -> str:
    """JSONRenderer's serializer: orjson (a tenth of ``json.dumps``' time per line), stdlib json for what it refuses.

    ``default`` (structlog's fallback: an object's ``__structlog__`` or its repr) handles what neither knows.
    """
    default = kwargs.get("default")
    try:
        return orjson.dumps(event, default=default).decode("utf-8")
    except orjson.JSONEncodeError:  # e.g. an integer past 64 bits, or a non-string key
        return json.dumps(event, default=default if default is not None else repr)


def shared_processors() -> list[Processor]:
    """Run for every record, structlog's and stdlib's (``foreign_pre_chain``) alike, so the keys are the same."""
    return [
        merge_log_context,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ExtraAdder(),
        drop_color_message,
        add_timestamp,
    ]


def renderer(log_format: LogFormat, stream: IO[str] | None) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer(serializer=json_line)
    colors = bool((stream or sys.stderr).isatty())
    # The traceback is already text (format_exc_info runs first, so the redaction sees it); print it as it is.
    return structlog.dev.ConsoleRenderer(colors=colors, exception_formatter=structlog.dev.plain_traceback)


def build_formatter(log_format: LogFormat, stream: IO[str] | None = None) -> structlog.stdlib.ProcessorFormatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,  # last before rendering: it sees the message, the extras and the traceback text
            renderer(log_format, stream),
        ],
    )


def _access_renderer(log_format: LogFormat, stream: IO[str] | None) -> AccessRenderer:
    render = renderer(log_format, stream)
    as_json = log_format == "json"

    def render_line(fields: dict[str, Any], context: Mapping[str, Any], at: float) -> str:
        # The keys every line has, as the pre-chain adds them: the request's context, logger, level, fields, time.
        event: EventDict = {
            "event": "request",
            **context,
            "logger": ACCESS_LOGGER,
            "level": "info",
            **fields,
            "timestamp": add_timestamp.at(at),
        }
        event = redact_secrets(None, "info", event)
        if as_json:
            try:
                # What the JSON renderer would do (json_line), without its wrappers, for the usual line.
                return orjson.dumps(event).decode("utf-8")
            except TypeError:  # orjson.JSONEncodeError: a value only the renderer's fallbacks handle
                pass
        line = render(None, "info", event)
        return line.decode("utf-8") if isinstance(line, bytes | bytearray) else str(line)

    return render_line


def access_handler() -> ServiceHandler | None:
    """Where access lines go now, or None when nothing would be written: unless :func:`configure_logging` installed
    our handler (it may since have been replaced: tests restore theirs) and the root level lets INFO through, as a
    stdlib INFO record would have been treated. Asked once per batch of lines, so a reconfiguration takes effect
    at the next one."""
    root = logging.root
    if not root.isEnabledFor(logging.INFO):
        return None
    for handler in root.handlers:
        if isinstance(handler, ServiceHandler):
            return handler
    return None


def configure_logging(*, level: str, log_format: LogFormat, stream: IO[str] | None = None) -> None:
    """Routes all logging through one handler on the root logger; idempotent (replaces its earlier handler).

    ``stream`` defaults to the current stderr; tests pass a buffer to read the rendered lines.
    """
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # before any work: a DEBUG line in production costs one check
            *shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # The chain above never depends on the settings (the handler does), so loggers may keep it.
        cache_logger_on_first_use=True,
    )
    handler = ServiceHandler(stream, render_access=_access_renderer(log_format, stream))
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(build_formatter(log_format, stream))

    root = logging.getLogger()
    for existing in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())

    for name in UVICORN_LOGGERS:
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
        # uvicorn's own config (`log_level`) may have set a level of its own: LOG_LEVEL decides, at the root.
        uvicorn_logger.setLevel(logging.NOTSET)
    access = logging.getLogger(UVICORN_ACCESS)
    # No handler and no propagation: uvicorn checks hasHandlers() per connection and then skips the work entirely.
    access.handlers.clear()
    access.propagate = False
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
