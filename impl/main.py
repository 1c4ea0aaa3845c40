"""Process entry points: the uvicorn app factory and ``python -m impl``."""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from impl.app import create_app
from impl.platform.bounded_headers import BoundedHeadersProtocol
from impl.platform.log_config import configure_logging
from impl.platform.metrics import MULTIPROCESS_ENV, multiprocess_dir_from_env
from impl.platform.settings import Settings, get_settings
from impl.platform.supervisor import ReleasingMultiprocess


def app_factory() -> FastAPI:
    """For ``uvicorn --factory impl.main:app_factory``: the app, configured from the environment."""
    settings = get_settings()
    # Here too, not only in main(): each worker process (and a plain ``uvicorn --factory``) configures its own.
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    return create_app(settings, tune_collector=True)  # this process serves it: see create_app


def main() -> None:
    settings = get_settings()
    configure_logging(level=settings.log_level, log_format=settings.log_format)
    if settings.workers > 1 and settings.redis_url is None:
        # Each worker would keep its own token blacklist and rate-limit counters: a logout seen by one worker only.
        logging.getLogger("charter").warning(
            "WORKERS=%d without REDIS_URL: logouts and rate limits are per worker; set REDIS_URL to share them",
            settings.workers,
        )
    made_metrics_dir = shared_metrics_dir(workers=settings.workers)
    try:
        serve(settings)
    finally:
        if made_metrics_dir is not None:
            shutil.rmtree(made_metrics_dir, ignore_errors=True)


def shared_metrics_dir(*, workers: int) -> Path | None:
    """With several workers each process counts only its own requests, and a scrape would see whichever worker
    answered it. prometheus-client shares them through files in PROMETHEUS_MULTIPROC_DIR; when it is not set, a
    fresh private directory is made and set for the workers (they inherit the environment and import the library
    after it is set). Returns the directory made, removed when the server stops; None when none was needed."""
    if workers <= 1 or multiprocess_dir_from_env() is not None:
        return None
    directory = Path(tempfile.mkdtemp(prefix="charter-metrics-"))
    os.environ[MULTIPROCESS_ENV] = str(directory)
    logging.getLogger("charter").info("WORKERS=%d: the workers share their metrics through %s", workers, directory)
    return directory


def serve(settings: Settings) -> None:
    options: dict[str, Any] = {
        "factory": True,
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "loop": "uvloop",
        # httptools, counting header bytes and time as they arrive: uvicorn has no such limits for it
        "http": BoundedHeadersProtocol,
        "log_level": settings.log_level,
        "log_config": None,  # uvicorn's records go through our handler (JSON lines), not its own formatters
        "access_log": False,  # impl.platform.middleware.access_log writes one line per request instead
        "server_header": False,  # no product banner for scanners
        "proxy_headers": False,  # client addresses come from the socket until trusted proxies are configured
        # Protocol-level pings on chat sockets: a peer that stops answering is closed after one more interval.
        "ws_ping_interval": settings.ws_heartbeat_seconds,
        "ws_ping_timeout": settings.ws_heartbeat_seconds,
        "ws_max_size": settings.ws_max_message_bytes
        * 4,  # a hard ceiling; the chat refuses > WS_MAX_MESSAGE_BYTES (1009)
        # After SIGTERM: streams and chat sockets end at once (impl/platform/shutdown.py), in-flight requests get this
        # long to finish before uvicorn cancels them.
        "timeout_graceful_shutdown": math.ceil(settings.shutdown_grace_seconds),
    }
    if settings.workers > 1:
        # What uvicorn.run does for several workers, with a supervisor that closes its copy of the socket on SIGTERM.
        config = uvicorn.Config("impl.main:app_factory", **options)
        ReleasingMultiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        uvicorn.run("impl.main:app_factory", **options)
