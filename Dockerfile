# netregistry against an external PostgreSQL (NETREGISTRY_DATABASE_URL).
# Every step here is also run by `make package-check`, which CI runs: build the wheel,
# install it with the pinned constraints into a clean environment, run the CLI.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/netregistry \
 && /opt/netregistry/bin/pip install --no-cache-dir -c constraints.txt /wheels/netregistry-*.whl

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --create-home netregistry
COPY --from=build /opt/netregistry /opt/netregistry
ENV PATH=/opt/netregistry/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NETREGISTRY_DATA_DIR=/app/data
USER netregistry
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
# Migrate first (`netregistry migrate`, e.g. as a release step), then serve.
CMD ["netregistry", "serve", "--host", "0.0.0.0", "--port", "8000"]
