# news-monitor as a container: the daemon, run as an unprivileged user, health-checked.
# docker-compose.yml runs it beside PostgreSQL and a mail sink; docs/containers.md explains both.
# (Written for and checked against docker-compose.yml's settings by tests/test_containers.py;
# no Docker engine runs where the project is tested, so the image itself is built by no test.)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY monitor ./monitor
COPY storage ./storage
RUN pip install --no-cache-dir ".[postgres]"
COPY seeds ./seeds
COPY config ./config

# An unprivileged user owns what the daemon writes: the data folder (SQLite file, outbox) and
# the configuration folder, so that `monitor sources add` can append to the file in a volume.
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin monitor \
    && mkdir -p /app/data \
    && chown -R monitor:monitor /app/data /app/config
USER monitor

# The configuration the commands read (`docker run IMAGE story list` needs no --config), and the
# daemon's operations listener (GET /healthz, /readyz, /metrics) on every interface of the
# container, for the health check below and for a Prometheus scraping the container.
ENV MONITOR_CONFIG=config/roxham-road.toml \
    MONITOR_OPS_LISTEN=0.0.0.0:9108
EXPOSE 9108
VOLUME ["/app/data"]

# The slim image has no curl: Python's urllib asks /healthz, and any error or non-2xx answer
# (urlopen raises) exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9108/healthz', timeout=4)"]

ENTRYPOINT ["monitor"]
CMD ["run"]
