# Slim image running the aggregator as a non-root user.
# Volumes: /data (SQLite database, if used) and /site (the built static site).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    AGGREGATOR_CONFIG=/config/aggregator.toml \
    AGGREGATOR_DATABASE_URL=sqlite:////data/aggregator.db

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY aggregator ./aggregator
# Prompts, migrations and the demo's examples ship inside the package.
RUN pip install . \
    && useradd --create-home --uid 10001 aggregator \
    && mkdir -p /data /site /config \
    && chown aggregator:aggregator /data /site /config

USER aggregator
VOLUME ["/data", "/site"]
ENTRYPOINT ["aggregator"]
CMD ["run"]
