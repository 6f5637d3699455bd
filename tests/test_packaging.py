"""The wheel installs what it runs: built from exactly the files the Dockerfile copies, installed into a
fresh virtualenv, and served from there with docker-compose.yml's command and environment (no Docker
engine needed). The virtualenv gets the dependencies from this one (a .pth line) and nothing is
downloaded: the build runs without isolation, offline, with the setuptools of the dev extras.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import ADMIN_SECRET

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "schemas", "graph_queries")

pytestmark = pytest.mark.slow


# --- the Dockerfile and docker-compose.yml, read as Docker reads them (the parts used here) -----------

def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), one list per FROM."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        if keyword.upper() == "FROM":
            stages.append([])
        stages[-1].append((keyword.upper(), arguments.strip()))
    return stages


def image_environment(stage: list[tuple[str, str]]) -> dict[str, str]:
    found = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            found.update(item.split("=", 1) for item in shlex.split(arguments))
    return found


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}, and $$ for a dollar sign."""
    def one(match: re.Match) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        if variables.get(name):
            return variables[name]
        if operator == ":?":
            raise AssertionError(f"compose needs {name}: {word}")
        return word if operator == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, value).replace("$$", "$")


# --- the wheel -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    """The wheel built from the files the Dockerfile's first stage copies (and nothing else), and the log."""
    source = tmp_path_factory.mktemp("context")
    build_stage = dockerfile_stages()[0]
    for keyword, arguments in build_stage:
        if keyword == "COPY":
            *sources, _ = arguments.split()
            for name in sources:
                if (ROOT / name).is_dir():
                    shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("wheels")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--no-build-isolation",
                            "--no-index", "--wheel-dir", str(out), str(source)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout + build.stderr
    wheels = list(out.glob("netweave-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], build.stdout + build.stderr


def test_the_wheel_ships_every_package_and_data_file_without_warnings(built):
    wheel, log = built
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.split("/", 1)[0] in PACKAGES}
    expected = {path.relative_to(ROOT).as_posix() for package in PACKAGES for path in (ROOT / package).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    assert shipped == expected
    assert {"service/views/members.py", "service/analytics/engine.py", "service/repositories/sync.py",
            "service/static/explorer.js", "service/gunicorn.conf.py", "graph_queries/members.cypher"} <= shipped
    warnings = [line for line in log.splitlines() if re.search(r"\w*Warning\b", line)]
    assert warnings == [], "\n".join(warnings)


@pytest.fixture(scope="module")
def venv(built, tmp_path_factory) -> Path:
    """A fresh virtualenv holding only the wheel; its dependencies come from this interpreter's site-packages."""
    wheel, _ = built
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True, timeout=120)
    python = home / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # A plain path line: this venv's packages come first, and the dev install's own .pth files (its
    # editable finder for `service`) are not read, so `import service` can only find the wheel's copy.
    Path(purelib, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
                              "--no-index", "--quiet", str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    assert install.stderr.strip() == "", install.stderr
    return home


def test_the_installed_wheel_is_what_python_imports_and_its_requirements_hold(venv, tmp_path):
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import service, service.views.members, service.analytics.engine; "
                            "from importlib.metadata import version; print(service.__file__, version('netweave'))"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert where.returncode == 0, where.stderr
    path, version = where.stdout.split()
    assert Path(path).is_relative_to(venv)
    assert version == _project_version()
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def _project_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_the_dockerfile_installs_the_wheel_it_builds_and_runs_as_a_user(venv):
    build, final = dockerfile_stages()
    assert any(keyword == "RUN" and "pip wheel" in arguments and "--wheel-dir /wheels" in arguments
               for keyword, arguments in build)
    assert ("COPY", "--from=wheel /wheels /tmp/wheels") in final
    assert any(keyword == "RUN" and arguments.startswith("pip install /tmp/wheels/") for keyword, arguments in final)
    assert not any(keyword == "COPY" and "--from" not in arguments for keyword, arguments in final), \
        "the image gets the code only through the wheel"
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    command = json.loads(dict(final)["CMD"])
    assert (venv / "bin" / command[0]).exists(), f"{command[0]} is not a script the wheel installs"


# --- docker-compose.yml's API service, outside Docker ----------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


def _compose_api(neo4j_settings, port: int) -> tuple[list[str], dict[str, str]]:
    """The API service's command and environment as the container would have them, with what Docker's
    network provides (the `neo4j` host, the container's own interface and port) replaced by this machine's."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    api = compose["services"]["api"]
    assert api["build"] == "." and "neo4j" in api["depends_on"]
    final = dockerfile_stages()[-1]
    command = api.get("command") or json.loads(dict(final)["CMD"])
    variables = {"NETWEAVE_ADMIN_KEY": ADMIN_SECRET, "NEO4J_PASSWORD": "outside-docker"}
    env = {**image_environment(final), **{k: interpolate(str(v), variables) for k, v in api["environment"].items()}}
    published = [mapping.rsplit(":", 2) for mapping in api["ports"]]
    assert published == [["127.0.0.1", "8080", env["NETWEAVE_PORT"]]], "published on the host's loopback only"
    assert urlparse(env["NEO4J_URI"]).hostname == "neo4j" and "neo4j" in compose["services"]
    assert env["NETWEAVE_ADMIN_KEY"] == ADMIN_SECRET
    env.update(NEO4J_URI=neo4j_settings["NEO4J_URI"], NETWEAVE_HOST="127.0.0.1", NETWEAVE_PORT=str(port),
               NETWEAVE_WORKERS="1")
    for name in ("NEO4J_USER", "NEO4J_PASSWORD"):
        if neo4j_settings.get(name):
            env[name] = neo4j_settings[name]
        else:
            env.pop(name, None)
    return command, env


def test_docker_compose_api_command_serves_from_the_wheel(venv, neo4j_settings, tmp_path):
    port = _free_port()
    command, compose_env = _compose_api(neo4j_settings, port)
    bin_dir = venv / "bin"
    env = {**os.environ, **compose_env, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    executable = shutil.which(command[0], path=str(bin_dir))
    assert executable is not None and Path(executable).parent == bin_dir
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([executable, *command[1:]], env=env, cwd=tmp_path, stdout=sink,
                                   stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the API from the wheel did not become ready\n" + log.read_text()
            time.sleep(0.3)
        status, body = _get(f"{base}/openapi.json")
        assert status == 200 and json.loads(body)["info"]["version"] == _project_version()
        assert _get(f"{base}/docs")[0] == 200
        status, body = _get(f"{base}/explorer")
        assert status == 200 and b"explorer.js" in body, "the explorer's files come with the wheel"
        assert _get(f"{base}/v1/members", {"Authorization": f"Bearer {ADMIN_SECRET}"})[0] == 200
        # `netweave serve` became gunicorn (same pid) with the wheel's interpreter and configuration.
        argv = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
        assert Path(argv[0]).parent == bin_dir and argv[1:3] == ["-m", "gunicorn"], argv
        assert Path(argv[argv.index("--config") + 1]).is_relative_to(venv), argv
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            assert process.wait(timeout=40) == 0, log.read_text()
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


def test_docker_compose_worker_runs_the_wheels_worker_with_the_apis_environment(venv):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    worker, api = services["worker"], services["api"]
    assert worker["build"] == "." and worker["environment"] == api["environment"]
    assert urlparse(api["environment"]["NETWEAVE_QUEUE_URL"]).hostname == "redis" and "redis" in services
    assert {"neo4j", "redis"} <= set(worker["depends_on"])
    executable = venv / "bin" / worker["command"][0]
    shown = subprocess.run([str(executable), *worker["command"][1:], "--help"], capture_output=True, text=True,
                           check=True).stdout
    assert "Scaling out" in shown
    # Without a queue to take jobs from, the worker says what to set and stops (no traceback).
    env = {name: value for name, value in os.environ.items() if name != "NETWEAVE_QUEUE_URL"}
    refused = subprocess.run([str(executable), *worker["command"][1:]], capture_output=True, text=True, env=env)
    assert refused.returncode != 0 and "NETWEAVE_QUEUE_URL is not set" in refused.stderr
    assert "Traceback" not in refused.stderr
