# The netweave API: gunicorn (gthread workers) as a non-root user. Neo4j runs elsewhere (see docker-compose.yml).
# The first stage builds the wheel, the second installs only that wheel: the image runs exactly what
# `pip install netweave-*.whl` installs, as tests/test_packaging.py checks outside Docker.

FROM python:3.11-slim AS wheel
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
COPY schemas ./schemas
COPY graph_queries ./graph_queries
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 netweave
COPY --from=wheel /wheels /tmp/wheels
RUN pip install /tmp/wheels/*.whl && rm -rf /tmp/wheels

USER netweave
# A directory of its own: nothing in the working directory can shadow the installed package.
WORKDIR /home/netweave
# Every interface inside the container; docker-compose.yml publishes the port on the host's loopback only.
ENV NETWEAVE_HOST=0.0.0.0 NETWEAVE_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=6 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['NETWEAVE_PORT'], timeout=2)"
CMD ["netweave", "serve"]
