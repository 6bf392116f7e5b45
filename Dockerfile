# Two stages: build the wheel, then a slim runtime that installs only that wheel and runs the
# aggregator as a non-root user. Prompts, migrations and the demo's examples ship inside it.
# Volumes: /data (SQLite database, if used) and /site (the built static site).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY aggregator ./aggregator
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AGGREGATOR_CONFIG=/config/aggregator.toml \
    AGGREGATOR_DATABASE_URL=sqlite:////data/aggregator.db
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 aggregator \
    && mkdir -p /data /site /config \
    && chown aggregator:aggregator /data /site /config

USER 10001:10001
WORKDIR /data
VOLUME ["/data", "/site"]
ENTRYPOINT ["aggregator"]
CMD ["run"]
