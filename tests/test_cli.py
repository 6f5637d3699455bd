"""The `netweave` command: keys, seed, the local Neo4j launcher, and serve under gunicorn."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from neo4j import GraphDatabase

from service.cli import main as cli
from tests.conftest import ADMIN_SECRET

NETWEAVE = str(Path(sys.executable).parent / "netweave")


@pytest.fixture
def cli_env(neo4j_settings, graph):
    env = {key: value for key, value in neo4j_settings.items() if value}
    return {**env, "NETWEAVE_ADMIN_KEY": ADMIN_SECRET}


def test_keys_create_prints_a_working_secret(cli_env, api):
    result = CliRunner(env=cli_env).invoke(cli.main, ["keys", "create", "--name", "etl", "--scopes",
                                                      "read,analytics", "--json"])
    assert result.exit_code == 0, result.output
    key = json.loads(result.stdout)
    assert key["scopes"] == ["read", "analytics"]
    assert api.with_key(key["secret"]).get("/v1/members").status_code == 200
    assert api.with_key(key["secret"]).post("/v1/members", json={"name": "X"}).status_code == 403


def test_keys_create_rejects_unknown_scope_in_one_readable_line(cli_env):
    result = CliRunner(env=cli_env).invoke(cli.main, ["keys", "create", "--name", "x", "--scopes", "read,root"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: --scopes: 'root': Must be one of: read, write, sync, analytics, pii, admin")


def test_keys_create_names_each_failing_option_in_one_line(cli_env):
    result = CliRunner(env=cli_env).invoke(cli.main, ["keys", "create", "--name", " ", "--scopes", "read,root"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: --name: Length must be between 1 and 100; needs a character that is not space or a control "
        "character; --scopes: 'root': Must be one of: read, write, sync, analytics, pii, admin")


def test_an_unreachable_database_is_one_line_not_a_traceback():
    closed = _free_port()
    env = {"NEO4J_URI": f"bolt://127.0.0.1:{closed}", "NEO4J_CONNECT_TIMEOUT": "1", "NEO4J_RETRY_SECONDS": "1"}
    result = CliRunner(env=env).invoke(cli.main, ["keys", "create", "--name", "x", "--scopes", "read"])
    assert result.exit_code == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: the graph database is unreachable (") and f"127.0.0.1:{closed}" in line
    assert line.endswith("is Neo4j running, and is NEO4J_URI right?")


def test_seed_demo_loads_once(cli_env, api):
    runner = CliRunner(env=cli_env)
    first = runner.invoke(cli.main, ["seed", "--demo", "--members", "60", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "60 members" in first.output
    organizations = api.get("/v1/organizations?limit=100").get_json()["items"]
    assert len(organizations) >= 4 and sum(org["member_count"] for org in organizations) >= 60
    second = runner.invoke(cli.main, ["seed", "--demo", "--if-empty"])
    assert second.exit_code == 0 and "not empty" in second.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def test_serve_runs_gunicorn_that_answers_and_stops_on_sigterm(cli_env):
    port = _free_port()
    env = {**os.environ, **cli_env}
    process = subprocess.Popen([NETWEAVE, "serve", "--port", str(port), "--workers", "2"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"http://127.0.0.1:{port}/readyz") == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "gunicorn did not become ready"
            time.sleep(0.3)
        assert _get(f"http://127.0.0.1:{port}/v1/members", ADMIN_SECRET) == 200
        assert _get(f"http://127.0.0.1:{port}/v1/members") == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=40) == 0
        process.stderr.close()


def test_neo4j_launcher_start_status_stop_with_a_plugin(tmp_path):
    """One server for the launcher's life cycle and its plugin option (APOC: small, on Maven Central)."""
    data = str(tmp_path / "db")
    started = subprocess.run([NETWEAVE, "neo4j", "start", "--port", "0", "--data", data, "--plugins", "apoc"],
                             capture_output=True, text=True, timeout=420)
    assert started.returncode == 0, started.stderr
    uri = started.stdout.strip().splitlines()[-1]
    assert uri.startswith("bolt://127.0.0.1:")
    try:
        status = subprocess.run([NETWEAVE, "neo4j", "status", "--data", data], capture_output=True, text=True)
        assert status.returncode == 0 and uri in status.stdout
        again = subprocess.run([NETWEAVE, "neo4j", "start", "--data", data], capture_output=True, text=True)
        assert again.stdout.strip().splitlines()[-1] == uri, "a second start reuses the running server"
        with GraphDatabase.driver(uri, auth=None) as driver:
            version = driver.execute_query("RETURN apoc.version() AS version").records[0]["version"]
        assert version.startswith("5.26")
        other = subprocess.run([NETWEAVE, "neo4j", "start", "--data", data, "--plugins", "gds"],
                               capture_output=True, text=True)
        assert other.returncode != 0 and "stop it first" in other.stderr
    finally:
        stopped = subprocess.run([NETWEAVE, "neo4j", "stop", "--data", data], capture_output=True, text=True,
                                 timeout=120)
    assert stopped.stdout.strip() == "stopped"
    status = subprocess.run([NETWEAVE, "neo4j", "status", "--data", data], capture_output=True, text=True)
    assert status.returncode == 1 and "not running" in status.stdout


def test_neo4j_start_rejects_an_unknown_plugin(tmp_path):
    result = CliRunner().invoke(cli.main, ["neo4j", "start", "--data", str(tmp_path), "--plugins", "apoc,graphx"])
    assert result.exit_code == 2 and "graphx" in result.output
    assert not (tmp_path / "launcher.pid").exists()
