"""gunicorn settings for `netweave serve` and the Docker image; the environment can override each."""

import os

bind = os.environ.get("NETWEAVE_BIND", "127.0.0.1:8080")
worker_class = "gthread"
workers = int(os.environ.get("NETWEAVE_WORKERS", "2"))
threads = int(os.environ.get("NETWEAVE_THREADS", "4"))
# The app (and its Neo4j driver) is created in each worker after fork, never in the master.
preload_app = False
timeout = int(os.environ.get("NETWEAVE_WORKER_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("NETWEAVE_LOG_LEVEL", "info")
