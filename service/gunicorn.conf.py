"""gunicorn settings for `netweave serve` and the Docker image; the environment can override each."""

import glob
import os
import tempfile
import threading
import time

bind = os.environ.get("NETWEAVE_BIND", "127.0.0.1:8080")
worker_class = "gthread"
workers = int(os.environ.get("NETWEAVE_WORKERS", "2"))
threads = int(os.environ.get("NETWEAVE_THREADS", "4"))
# The app (and its Neo4j driver) is created in each worker after fork, never in the master.
preload_app = False
timeout = int(os.environ.get("NETWEAVE_WORKER_TIMEOUT", "60"))
# On SIGTERM a worker stops accepting and finishes the requests it holds, for up to this long.
graceful_timeout = int(os.environ.get("NETWEAVE_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# gunicorn's control socket (since 25.1) sits at one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl, else
# $HOME/.gunicorn/gunicorn.ctl): a second server on the machine (another checkout, a test) took it over from
# the first. netweave has no use for it; an older gunicorn ignores the setting.
control_socket_disable = True
# The app logs one JSON line per request (route template, no query string): gunicorn's access log
# would repeat it with the raw path and query, which may carry personal data.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("NETWEAVE_LOG_LEVEL", "info")
# Every line, gunicorn's and the app's, as JSON on stderr, once (gunicorn.* propagate to the root).
logconfig_dict = {
    "root": {"level": loglevel.upper(), "handlers": ["console"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "formatters": {"json": {"()": "service.web.observability.JsonFormatter"}},
}

# Prometheus multiprocess mode: every worker writes its samples to files in one directory, which
# /metrics aggregates. It must be set here, in the master, before any worker imports the client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="netweave-metrics-")

# Imported only now: importing `service` imports the Prometheus client, which reads the variable above.
from service.web.request_limits import GUNICORN_LIMITS, answer_server_refusals_as_problems  # noqa: E402

# Above the app's own limits (service/web/request_limits.py), so the app sees a request line or headers over
# its limits and answers 414/431 as problem+json itself; gunicorn refuses only what is over these.
limit_request_line = GUNICORN_LIMITS["limit_request_line"]
limit_request_field_size = GUNICORN_LIMITS["limit_request_field_size"]
limit_request_fields = GUNICORN_LIMITS["limit_request_fields"]


def on_starting(server):
    # Samples of a previous run would be counted again: start from an empty directory.
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    # Before the worker installs its signal handlers (and loads the app, which takes seconds): its quit
    # handler runs once, so a SIGQUIT arriving inside the handling of a SIGINT returns at once instead of
    # re-entering gthread's ThreadPoolExecutor.shutdown under the lock the first call holds (see below).
    quit_once = worker.handle_quit
    worker._quit_asked = threading.Event()

    def handle_quit(sig, frame):
        if worker._quit_asked.is_set():
            return
        worker._quit_asked.set()        # the watchdog (post_worker_init) ends the process if this never returns
        quit_once(sig, frame)

    worker.handle_quit = handle_quit


# A quick shutdown (SIGQUIT, or SIGINT before the worker ignores it) that has not ended the worker after this
# long ends it: gthread's quit handler takes its thread pool's lock, which the main thread may hold when the
# signal lands (inside submit), and at exit it joins every pool thread, one of which may wait on a client.
# Either hung the worker until the master's SIGKILL after graceful_timeout (seen in CI once after the fix
# above).
QUIT_SECONDS = 5.0


def _watch_quit(asked: threading.Event) -> None:
    asked.wait()
    time.sleep(QUIT_SECONDS)
    os._exit(0)


def post_worker_init(worker):
    # What gunicorn still refuses itself (over the limits above, a control character in a header) is
    # answered as problem+json like everything else.
    answer_server_refusals_as_problems()

    # Ctrl-C sends SIGINT to the whole process group, and the master answers its own by sending each worker
    # SIGQUIT. A worker that also quit on the SIGINT could take the SIGQUIT inside that first quit handler:
    # gthread's handler then re-entered ThreadPoolExecutor.shutdown under the lock it already held, and the
    # worker hung until the master's SIGKILL after graceful_timeout ("Worker ... was sent SIGKILL!" on
    # stopping `make run`). Once the app is loaded, the worker leaves SIGINT to the master and stops on its
    # SIGQUIT alone (post_fork covers the load before this).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Started now, not in the handler: starting a thread takes a lock the interrupted main thread may hold.
    asked = getattr(worker, "_quit_asked", None)        # set by post_fork
    if asked is not None:
        threading.Thread(target=_watch_quit, args=(asked,), name="netweave-quit-watchdog", daemon=True).start()

    # The app's own objects (modules, schemas, routes) live as long as the worker: freeze them out of the
    # cyclic collector, and collect the young generation every 10,000 allocations rather than 700. A sync
    # batch allocates ~100,000 short-lived containers; with the defaults the collector took 25-45 ms of
    # each 1,000-record batch (bench/sync_profile.py), with this 2-3 ms.
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
