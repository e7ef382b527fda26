# The collectpulse image: one image, the command picks worker / exporter / simulate.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --uid 10001 collectpulse
USER collectpulse
ENV COLLECTPULSE_DATA_DIR=/tmp/collectpulse
ENTRYPOINT ["collectpulse"]
CMD ["worker"]
