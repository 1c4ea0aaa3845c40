# syntax=docker/dockerfile:1
# Charter's production image: `docker build -t charter .` then `docker run -p 8000:8000 --env-file ... charter`.
#
# Base images are pinned by tag only: these machines are offline and have no Docker engine, so no registry could be
# asked for a digest. Where a registry is reachable, pin each FROM as `image:tag@sha256:...` (Renovate/Dependabot
# keep both fresh).
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# The uv binary comes from Astral's official image, pinned to the version that wrote uv.lock.
FROM ghcr.io/astral-sh/uv:0.13.9 AS uv

# --- builder: resolve the locked runtime dependencies into /app/.venv --------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
# Compile bytecode now (the runtime filesystem is read-only); copy out of the cache mount rather than hard-link;
# use the image's own interpreter so the venv's symlinks still resolve in the runtime stage.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Only the lock files: this layer is rebuilt when dependencies change, not on every code change. The project
# itself is not installed: the runtime runs `python -m impl` from /app, where impl/ and generated/ are copied.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project

# --- runtime: the venv, the code and the spec; no uv, no compiler, no dev tools ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
# A fixed UID/GID so volume ownership and Kubernetes' runAsUser agree with the image.
ARG APP_UID=10001
ARG APP_GID=10001
RUN groupadd --system --gid "${APP_GID}" charter \
    && useradd --system --uid "${APP_UID}" --gid charter --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin charter \
    && mkdir -p /app/var /app/metrics \
    && chown charter:charter /app/var /app/metrics

WORKDIR /app
COPY --from=builder /app/.venv /app/.venv
COPY generated/ /app/generated/
COPY impl/ /app/impl/
COPY spec/ /app/spec/
# Byte-compile the code too, so a read-only root filesystem costs nothing at start-up.
RUN /app/.venv/bin/python -m compileall -q /app/impl /app/generated

# Settings are read from the environment (impl/platform/settings.py); prod refuses to start without a real
# SECRET_KEY and JWT_KEYS_DIR (RS256), which come from the orchestrator, never from the image.
# PROMETHEUS_MULTIPROC_DIR must name an existing directory before the process starts, so that every worker's
# metrics reach one scrape (impl/platform/metrics.py); orchestrators mount an empty writable one there.
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=prod \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/var \
    PROMETHEUS_MULTIPROC_DIR=/app/metrics

# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER ${APP_UID}:${APP_GID}
EXPOSE 8000

# /livez checks the process only (a database outage must not get a healthy container restarted). The slim image
# has no curl: Python's urllib does the request, and any error or non-2xx status exits non-zero.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/livez', timeout=2)"]

# impl/main.py runs uvicorn (uvloop, httptools) with HOST, PORT and WORKERS from the environment. Exec form:
# python is PID 1 and receives SIGTERM itself, so the graceful shutdown runs.
CMD ["python", "-m", "impl"]
