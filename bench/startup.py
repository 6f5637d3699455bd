"""Start-up times: the local Neo4j launcher, and `make run` on a fresh clone to the first 200 from /readyz.

    .venv/bin/python bench/startup.py            # warm caches (Maven and pip caches as they are)
    .venv/bin/python bench/startup.py --cold     # empty Maven repository and no pip cache: a fresh machine

The peer of `netweave neo4j start` is a bare `java` start of the same launcher (no Python, no build check).
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from service.cli import neo4j_local  # noqa: E402


def launcher_start_seconds(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        data = Path(tempfile.mkdtemp(prefix="netweave-start-"))
        started = time.perf_counter()
        neo4j_local.start(port=0, data_dir=data)
        times.append(time.perf_counter() - started)
        neo4j_local.stop(data)
        shutil.rmtree(data, ignore_errors=True)
    return times


def bare_java_start_seconds() -> float:
    """The same server started by java directly, timed until it writes its Bolt port."""
    data = Path(tempfile.mkdtemp(prefix="netweave-start-java-"))
    classpath = f"{neo4j_local._jar()}{os.pathsep}{neo4j_local.PROJECT_DIR / 'target' / 'lib' / '*'}"
    started = time.perf_counter()
    process = subprocess.Popen(["java", "-Xmx768m", "-cp", classpath, neo4j_local.MAIN_CLASS, "--data", str(data),
                                "--port", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (data / "bolt.port").exists():
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    process.send_signal(signal.SIGTERM)
    process.wait(120)
    shutil.rmtree(data, ignore_errors=True)
    return elapsed


def make_run_to_ready_seconds(cold: bool) -> float:
    clone = Path(tempfile.mkdtemp(prefix="netweave-fresh-"))
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    port, neo4j_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("NEO4J_URI", "NETWEAVE_ADMIN_KEY")}
    if cold:
        env["MAVEN_OPTS"] = f"-Dmaven.repo.local={clone / '.m2-empty'}"
        env["PIP_NO_CACHE_DIR"] = "1"
    started = time.perf_counter()
    make = subprocess.Popen(["make", "run", f"PORT={port}", f"NEO4J_PORT={neo4j_port}"], cwd=clone, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        while True:
            if make.poll() is not None:
                raise RuntimeError(f"make run exited with {make.returncode}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.25)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(60)
        subprocess.run([str(clone / ".venv" / "bin" / "netweave"), "neo4j", "stop"], cwd=clone,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(clone, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="no Maven repository, no pip cache")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if neo4j_local.needs_build():
        neo4j_local.build()
    launcher = launcher_start_seconds(args.runs)
    bare = bare_java_start_seconds()
    median = sorted(launcher)[len(launcher) // 2]
    print(f"netweave neo4j start (until Bolt answers): median {median:.1f} s of {args.runs} "
          f"({', '.join(f'{t:.1f}' for t in launcher)})")
    print(f"bare java start of the same server (until its port is written): {bare:.1f} s; "
          f"ratio {median / bare:.2f}")
    ready = make_run_to_ready_seconds(args.cold)
    print(f"make run on a fresh clone ({'cold' if args.cold else 'warm'} caches) to the first 200 from /readyz: "
          f"{ready:.1f} s")


if __name__ == "__main__":
    main()
