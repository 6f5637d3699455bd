# The netweave API: gunicorn (gthread workers) as a non-root user. Neo4j runs elsewhere (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 netweave
WORKDIR /app

COPY pyproject.toml README.md ./
COPY service ./service
COPY schemas ./schemas
COPY graph_queries ./graph_queries
RUN pip install .

USER netweave
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["netweave", "serve", "--host", "0.0.0.0", "--port", "8080"]
