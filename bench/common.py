"""What the benchmarks share: a free port, and `netweave serve` under gunicorn, ready to take load."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_api(uri: str, admin_key: str, workers: int, checkout: Path = ROOT,
              **environment: str) -> tuple[subprocess.Popen, int]:
    """gunicorn on a free port against `uri` (the `netweave` of `checkout`'s .venv), once /readyz answers
    200; stop it with SIGTERM."""
    port = free_port()
    env = {**os.environ, "NEO4J_URI": uri, "NETWEAVE_ADMIN_KEY": admin_key, "NETWEAVE_LOG_LEVEL": "warning",
           **environment}
    process = subprocess.Popen([str(checkout / ".venv" / "bin" / "netweave"), "serve", "--port", str(port),
                                "--workers", str(workers)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=checkout)  # gunicorn imports the app from its cwd
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError("the API did not become ready")


def start_queue(data: Path, neo4j_uri: str, admin_key: str, workers: int,
                **environment: str) -> tuple[list[subprocess.Popen], str]:
    """A redis-server of the run's own (no persistence, files in `data`) and `workers` analytics workers
    (`netweave worker`) on it: (processes, redis first; queue URL). Stop them with SIGTERM."""
    port = free_port()
    redis = subprocess.Popen([shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
                              "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(data)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    time.sleep(0.5)
    env = {**os.environ, "NEO4J_URI": neo4j_uri, "NETWEAVE_ADMIN_KEY": admin_key, "NETWEAVE_QUEUE_URL": url,
           "NETWEAVE_LOG_LEVEL": "WARNING", **environment}
    processes = [redis] + [subprocess.Popen([str(ROOT / ".venv" / "bin" / "netweave"), "worker"], env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                           for _ in range(workers)]
    return processes, url


def query_seconds(port: int) -> dict[str, tuple[float, int]]:
    """Seconds spent and times run per named Cypher statement so far, summed over the API's workers (its
    /metrics, which answers on loopback); diff two readings to see where a phase's time went."""
    from prometheus_client.parser import text_string_to_metric_families

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    totals: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in ("netweave_neo4j_query_duration_seconds", "netweave_neo4j_transaction_duration_seconds",
                               "netweave_http_request_duration_seconds"):
            continue
        for sample in family.samples:
            if sample.name.endswith(("_sum", "_count")):
                label = sample.labels.get("query") or "/".join(
                    sample.labels[key] for key in ("mode", "outcome", "method", "route") if key in sample.labels)
                entry = totals.setdefault(f"{family.name.split('_')[2]}:{label}", [0.0, 0])
                entry[0 if sample.name.endswith("_sum") else 1] += sample.value
    return {name: (seconds, int(count)) for name, (seconds, count) in totals.items()}


def print_time_split(before: dict[str, tuple[float, int]], after: dict[str, tuple[float, int]], top: int = 15) -> None:
    """The statements, transactions and routes that took the most time between two query_seconds readings."""
    spent = sorted(((after[name][0] - before.get(name, (0.0, 0))[0], after[name][1] - before.get(name, (0.0, 0))[1],
                     name) for name in after), reverse=True)
    for seconds, count, name in [row for row in spent if row[1] > 0][:top]:
        print(f"    {seconds:8.2f} s  {count:7d} x  {1000 * seconds / count:8.2f} ms  {name}")


def memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in bytes of process `pid`: its resident memory now and at its peak."""
    status = Path(f"/proc/{pid}/status").read_text()
    return (int(status.split("VmRSS:")[1].split()[0]) * 1024, int(status.split("VmHWM:")[1].split()[0]) * 1024)


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of process `pid` and of all its living descendants so far (0 once gone)."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        process = int(stat.parent.name)
        children.setdefault(int(fields[1]), []).append(process)
        times[process] = (int(fields[11]) + int(fields[12])) / ticks    # utime, stime
    total, todo = 0.0, [pid]
    while todo:
        process = todo.pop()
        total += times.get(process, 0.0)
        todo.extend(children.get(process, []))
    return total


def tear_down(processes: list, data: Path) -> None:
    """SIGTERM each process (APIs first, then workers, then Redis, as listed) and wait for it; then stop the
    run's local Neo4j and remove its directory."""
    import signal

    from service.cli import neo4j_local

    for process in processes:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    neo4j_local.stop(data)
    shutil.rmtree(data, ignore_errors=True)


def verdict(failures: list[str]) -> int:
    """Prints each failed check and PASS or FAILED; the exit status (1 when a check failed)."""
    for failure in failures:
        print("FAIL:", failure)
    print("PASS" if not failures else "FAILED")
    return 1 if failures else 0
