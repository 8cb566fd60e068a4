# The riskmon worker image used by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RISKMON_WEB_HOST=0.0.0.0

# Tesseract OCR for POST /v1/intake (scanned application forms), with its English data
# and the DejaVu fonts the form generator draws with.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN pip install . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin riskmon

# Run as an unprivileged user; Faust keeps its local table data in the
# working directory, so make it the user's home.
USER riskmon
WORKDIR /home/riskmon

# Faust's web server: /metrics for Prometheus.
EXPOSE 6066
CMD ["riskmon", "worker"]
