# news-monitor as a container: the daemon, configured by a mounted TOML file.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY storage ./storage
COPY seeds ./seeds
COPY config ./config
RUN pip install --no-cache-dir ".[postgres]"
# Runtime data (SQLite file, outbox) lives in /app/data; mount a volume there.
VOLUME ["/app/data"]
ENTRYPOINT ["monitor"]
CMD ["--config", "config/roxham-road.toml", "run"]
