"""Test helpers that are not fixtures: a TCP proxy to cut the API off from Neo4j (or freeze the line) and let it
back, threads run together, and waiting for an analytics run."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path


def wait_until_serving(port: int, process: subprocess.Popen, *, log: Path | None = None, path: str = "/readyz",
                       seconds: float = 90) -> None:
    """Until `netweave serve` on `port` answers 200 on `path`; fails with the server's log (when given) if it
    exits, or when `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        assert process.poll() is None, log.read_text() if log else "netweave serve exited"
        assert time.monotonic() < deadline, "netweave serve did not become ready"
        time.sleep(0.3)


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds: a gunicorn master stops its
    workers on SIGTERM, and a master killed first would orphan them."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._listener.listen(64)
        self._open = threading.Event()
        self._open.set()
        self._flowing = threading.Event()  # cleared: bytes are held, as by a frozen server or a partition
        self._flowing.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self) -> None:
        self._open.clear()
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def restore(self) -> None:
        self._open.set()

    def freeze(self) -> None:
        """Keep every connection open but pass no byte: a hung server, or packets dropped on the way."""
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self._flowing.set()
        self.cut()
        self._listener.close()


def finish_pending_run(api, engine, pending) -> None:
    """`pending` is a 202 naming an analytics run (Location included); wait for the run and check it is done."""
    assert pending.status_code == 202 and pending.mimetype == "application/json"
    run = pending.get_json()
    assert pending.headers["Location"].endswith(f"/v1/analytics/runs/{run['id']}")
    engine.wait_idle(timeout=60)
    assert api.get(f"/v1/analytics/runs/{run['id']}").get_json()["status"] == "done"


def run_together(work, count: int) -> None:
    """Run work(0) .. work(count - 1) each on its own thread, all started before any is joined."""
    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class RedisServer:
    """A redis-server of the test's own (Debian's package, installed by `make test`) on a free port, which
    a test may stop and start again on the same port (the queue's storage going down and coming back)."""

    def __init__(self, directory: Path):
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is missing: `make test` installs it (apt-get install redis-server)"
        self.process = subprocess.Popen([server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.directory)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class WebhookReceiver:
    """A real HTTP endpoint on 127.0.0.1 that verifies every delivery with the `standardwebhooks` package.

    It deduplicates on webhook-id as a receiver should: `events` holds each accepted delivery's events
    once, in the order they were processed, and `duplicates_skipped` counts deliveries whose id was
    already processed (sent again after an answer the sender did not get, or replayed). `answers` is a list of what to do with the next calls ("ok", "500", "timeout" (answers after
    `slow_seconds`), "redirect"); once it is empty, calls are accepted. `down()` closes the port (connections
    are refused) and `up()` opens it again on the same port. `secrets` are tried in order: after a
    rotation, a receiver that knows only the new or only the old secret still verifies within the window.
    """

    def __init__(self, secrets: list[str] | None = None, slow_seconds: float = 3.0):
        import http.server
        import json

        from standardwebhooks import Webhook, WebhookVerificationError

        self.secrets = list(secrets or [])
        self.slow_seconds = slow_seconds
        self.answers: list[str] = []
        self.events: list[dict] = []
        self.arrivals: list[float] = []         # when each event of `events` arrived (time.time())
        self.deliveries: list[dict] = []       # every call: id, signature header, verified by which secrets
        self.processed: set[str] = set()
        self.duplicates_skipped = 0
        self.unverified = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                arrived = time.time()
                with receiver.lock:
                    answer = receiver.answers.pop(0) if receiver.answers else "ok"
                if answer == "timeout":
                    time.sleep(receiver.slow_seconds)
                if answer == "redirect":
                    self.send_response(307)
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.end_headers()
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                with receiver.lock:
                    receiver.deliveries.append({"id": headers.get("webhook-id"), "verified": verified,
                                                "signature": headers.get("webhook-signature"), "answer": answer,
                                                "host": headers.get("host"), "bytes": len(body)})
                    if not verified:
                        receiver.unverified += 1
                    elif answer in ("ok", "timeout"):
                        if headers["webhook-id"] in receiver.processed:
                            receiver.duplicates_skipped += 1
                        else:
                            receiver.processed.add(headers["webhook-id"])
                            events = json.loads(body)["data"]["events"]
                            receiver.events.extend(events)
                            receiver.arrivals.extend([arrived] * len(events))
                status = 500 if answer == "500" else (401 if not verified else 204)
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:
                    pass

        self._handler = Handler
        self._server_class = http.server.ThreadingHTTPServer
        self.port = 0
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def up(self) -> None:
        self._server = self._server_class(("127.0.0.1", self.port), self._handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def types(self) -> list[str]:
        with self.lock:
            return [event["type"] for event in self.events]
