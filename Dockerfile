# syntax=docker/dockerfile:1
# civicbot image: dependencies and compiled catalogues built with uv in a first stage,
# then copied into a slim runtime that runs as a non-root user.

FROM python:3.11-slim-bookworm AS builder
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app

# Dependencies first: this layer is reused until uv.lock changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-install-project --no-dev

COPY . /app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev \
 && .venv/bin/pybabel compile --directory knowledge/locales --domain civicbot


FROM python:3.11-slim-bookworm
RUN groupadd --system civicbot \
 && useradd --system --gid civicbot --home-dir /app --shell /usr/sbin/nologin civicbot
COPY --from=builder /app /app
RUN mkdir -p /app/data && chown civicbot:civicbot /app/data
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER civicbot
# The SQLite database lives here when DATABASE_URL is not set.
VOLUME ["/app/data"]
# Webhook mode listens here (WEBHOOK_URL set); polling needs no port.
EXPOSE 8080
ENTRYPOINT ["civicbot"]
CMD ["run"]
