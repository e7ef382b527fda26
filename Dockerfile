# The collectpulse image: one image, the command picks worker / exporter / simulate
# (docker-compose.yml runs it three ways).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --uid 10001 collectpulse
USER collectpulse
# Faust keeps its local table state here; unbuffered so `docker compose logs` is live.
ENV COLLECTPULSE_DATA_DIR=/tmp/collectpulse \
    PYTHONUNBUFFERED=1
# The exporter's /metrics, /healthz and /readyz (COLLECTPULSE_HTTP_PORT).
EXPOSE 9464
ENTRYPOINT ["collectpulse"]
CMD ["worker"]
