# The PyRun Web image: one image for web, worker and beat (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# The job/terminal/build sandbox (docs/security.md): bubblewrap; slirp4netns, nftables, nsenter (util-linux) and
# iproute2 for its network namespace. Without them the platform refuses to run user code.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap slirp4netns nftables util-linux iproute2 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/*

ENV UV_VERSION=0.13.9 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/pyrun/venv \
    PATH=/opt/pyrun/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYRUN_ENV=production \
    PYRUN_DATA_DIR=/var/lib/pyrun

RUN pip install --no-cache-dir "uv==${UV_VERSION}"

WORKDIR /opt/pyrun/app
# Dependencies first, so code changes do not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev \
 && useradd --system --home-dir /var/lib/pyrun --create-home pyrun \
 && chown -R pyrun /var/lib/pyrun

USER pyrun
VOLUME ["/var/lib/pyrun"]
EXPOSE 8000
ENTRYPOINT ["tini", "--", "pyrun-web"]
CMD ["web", "--host", "0.0.0.0"]
