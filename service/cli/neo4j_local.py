"""Runs tools/neo4j-local (a real Neo4j 5.26, embedded, Bolt on 127.0.0.1) for machines without Docker."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from neo4j import GraphDatabase
from neo4j.exceptions import DriverError, Neo4jError

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_DIR = Path(os.environ.get("NETWEAVE_NEO4J_LOCAL_DIR", REPO_ROOT / "tools" / "neo4j-local"))
DEFAULT_DATA_DIR = REPO_ROOT / ".netweave" / "neo4j"
MAIN_CLASS = "netweave.neo4jlocal.Main"
JVM_OPTIONS = ("-XX:+UseParallelGC",)
DEFAULT_HEAP_MB = 768
DEFAULT_PAGECACHE_MB = 64
# Optional plugins (tools/neo4j-local/plugins/pom.xml, one Maven profile each) and the procedure
# namespaces each needs unrestricted.
PLUGINS = {"apoc": "apoc.*", "gds": "gds.*"}


# Servers this process started, kept so they are reaped on stop (and not reported as leaked when unused).
_children: dict[Path, subprocess.Popen] = {}
_unreaped: list[subprocess.Popen] = []


class LauncherError(RuntimeError):
    """The local Neo4j could not be built, started or stopped; the message says why and where to look."""


@dataclass(frozen=True)
class Running:
    pid: int
    uri: str


def _jar() -> Path:
    return PROJECT_DIR / "target" / "neo4j-local-1.0.0.jar"


def needs_build() -> bool:
    jar, lib = _jar(), PROJECT_DIR / "target" / "lib"
    if not jar.exists() or not lib.is_dir():
        return True
    sources = [PROJECT_DIR / "pom.xml", *(PROJECT_DIR / "src").rglob("*.java")]
    return max(path.stat().st_mtime for path in sources) > jar.stat().st_mtime


@contextlib.contextmanager
def _build_lock():
    """Held while the launcher or a plugin is checked and built: two processes starting Neo4j at once (the
    test suite's workers) would otherwise run Maven on the same target directory together and break it."""
    lock_dir = PROJECT_DIR / "target"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(log=print) -> None:
    """Package the launcher with Maven (dependencies come from Maven's own cache after the first time)."""
    if shutil.which("mvn") is None:
        raise LauncherError("Maven (mvn) is not on PATH; it is needed once to build tools/neo4j-local")
    log(f"building {PROJECT_DIR.relative_to(REPO_ROOT)} with Maven (first time: downloads Neo4j 5.26)...")
    result = subprocess.run(["mvn", "-q", "-B", "package", "-DskipTests"], cwd=PROJECT_DIR,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise LauncherError(f"Maven build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")


def _plugin_dir(name: str) -> Path:
    return PROJECT_DIR / "target" / "plugins" / name


def build_plugin(name: str, log=print) -> Path:
    """Resolve one plugin's jars (and their own dependencies) into target/plugins/NAME, once."""
    with _build_lock():
        return _build_plugin(name, log)


def _build_plugin(name: str, log) -> Path:
    if name not in PLUGINS:
        raise LauncherError(f"unknown plugin {name!r}; known: {', '.join(sorted(PLUGINS))}")
    target, pom = _plugin_dir(name), PROJECT_DIR / "plugins" / "pom.xml"
    if target.is_dir() and any(target.glob("*.jar")) and target.stat().st_mtime >= pom.stat().st_mtime:
        return target
    if shutil.which("mvn") is None:
        raise LauncherError(f"Maven (mvn) is not on PATH; it is needed once to fetch the {name} plugin")
    log(f"fetching the {name} plugin with Maven (first time only)...")
    staging = target.with_name(name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    result = subprocess.run(["mvn", "-q", "-B", "-f", str(pom), "package", "-P", name,
                             f"-Dplugin.output={staging}"], cwd=PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise LauncherError(f"Maven could not resolve the {name} plugin:\n{result.stdout[-3000:]}\n"
                            f"{result.stderr[-2000:]}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def _plugin_jars(plugins: tuple[str, ...], data_dir: Path, log) -> list[Path]:
    """Link the requested plugins' jars into DATA/plugins (Neo4j's plugin directory for this server)."""
    run_dir = data_dir / "plugins"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    jars: list[Path] = []
    for name in plugins:
        for jar in sorted(build_plugin(name, log).glob("*.jar")):
            if not (run_dir / jar.name).exists():
                (run_dir / jar.name).symlink_to(jar)
                jars.append(jar)
    return jars


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (we started it and nobody reaped it) is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (OSError, IndexError):
        return True


def status(data_dir: Path = DEFAULT_DATA_DIR) -> Running | None:
    pid_file, port_file = data_dir / "launcher.pid", data_dir / "bolt.port"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().strip() or 0)
    if not pid or not _pid_alive(pid) or not port_file.exists():
        return None
    return Running(pid=pid, uri=f"bolt://127.0.0.1:{port_file.read_text().strip()}")


def start(port: int = 0, data_dir: Path = DEFAULT_DATA_DIR, timeout: float = 180.0, log=print,
          heap_mb: int = DEFAULT_HEAP_MB, pagecache_mb: int = DEFAULT_PAGECACHE_MB,
          plugins: tuple[str, ...] = ()) -> Running:
    """Start Neo4j in the background (building it first if needed) and wait until Bolt answers.

    The defaults (768 MB heap, 64 MB page cache) suit tests and the demo; benchmarks pass more.
    `plugins` (names from PLUGINS) are fetched by Maven on first use and loaded from DATA/plugins.
    """
    data_dir = data_dir.resolve()
    plugins = tuple(sorted(set(plugins)))
    running = status(data_dir)
    if running:
        loaded = running_plugins(data_dir)
        if not set(plugins) <= set(loaded):
            raise LauncherError(f"Neo4j already runs in {data_dir} with plugins {list(loaded)}; stop it first "
                                f"to start it with {list(plugins)}")
        return running
    with _build_lock():     # another process (a second test worker) may be building it right now
        if needs_build():
            build(log)
    data_dir.mkdir(parents=True, exist_ok=True)
    previous = _children.pop(data_dir, None)
    if previous is not None:
        # Reap a server that died (or was killed) since we started it. status() found it gone, but a JVM
        # just sent SIGKILL can still be tearing down: poll() alone could miss it, and the Popen dropped
        # while its process had not been reaped warns (a ResourceWarning that fails the suite).
        try:
            previous.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _unreaped.append(previous)     # kept referenced: never dropped unreaped, so it never warns
    for stale in ("bolt.port", "neo4j.pid", "launcher.pid", "launcher.plugins"):
        (data_dir / stale).unlink(missing_ok=True)
    java = shutil.which("java") or "java"
    # Plugin jars go on the classpath too: GDS registers kernel extensions, which load from there.
    classpath = os.pathsep.join([str(_jar()), str(PROJECT_DIR / "target" / "lib" / "*"),
                                 *(str(jar) for jar in _plugin_jars(plugins, data_dir, log))])
    plugin_args = (["--plugins", str(data_dir / "plugins"),
                    "--unrestricted", ",".join(PLUGINS[name] for name in plugins)] if plugins else [])
    with open(data_dir / "neo4j-local.log", "ab") as out:
        process = subprocess.Popen(
            [java, f"-Xms{min(heap_mb, 128)}m", f"-Xmx{heap_mb}m", *JVM_OPTIONS, "-cp", classpath, MAIN_CLASS,
             "--data", str(data_dir), "--port", str(port), "--pagecache", str(pagecache_mb * 1024 * 1024),
             *plugin_args],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    (data_dir / "launcher.pid").write_text(f"{process.pid}\n")
    (data_dir / "launcher.plugins").write_text(",".join(plugins) + "\n")
    _children[data_dir] = process
    return _wait_until_ready(process, data_dir, timeout)


def running_plugins(data_dir: Path = DEFAULT_DATA_DIR) -> tuple[str, ...]:
    """The plugins the server in `data_dir` was started with."""
    recorded = data_dir.resolve() / "launcher.plugins"
    text = recorded.read_text().strip() if recorded.exists() else ""
    return tuple(name for name in text.split(",") if name)


def _wait_until_ready(process: subprocess.Popen, data_dir: Path, timeout: float) -> Running:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LauncherError(f"Neo4j exited with code {process.returncode}; see {data_dir / 'neo4j-local.log'}")
        running = status(data_dir)
        if running and _bolt_answers(running.uri):
            return running
        time.sleep(0.2)
    stop(data_dir)
    raise LauncherError(f"Neo4j did not answer within {timeout:.0f} s; see {data_dir / 'neo4j-local.log'}")


def _bolt_answers(uri: str) -> bool:
    try:
        with GraphDatabase.driver(uri, auth=None, connection_timeout=2) as driver:
            driver.verify_connectivity()
        return True
    except (DriverError, Neo4jError, OSError):
        return False


def stop(data_dir: Path = DEFAULT_DATA_DIR, timeout: float = 60.0) -> bool:
    """SIGTERM (Neo4j shuts down cleanly), SIGKILL after `timeout`; False when it was not running."""
    data_dir = data_dir.resolve()
    running = status(data_dir)
    if running is None:
        return False
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(running.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _pid_alive(running.pid):
        os.kill(running.pid, signal.SIGKILL)
    child = _children.pop(data_dir, None)
    if child is not None:
        child.wait(timeout=10)
    for stale in ("bolt.port", "neo4j.pid", "launcher.pid", "launcher.plugins"):
        (data_dir / stale).unlink(missing_ok=True)
    return True
