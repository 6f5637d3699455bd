"""Contract fuzzing: schemathesis against the app on the test Neo4j, from the committed openapi.yaml.

Runs the schemathesis command line (examples, coverage, fuzzing and stateful phases; every check,
plus `problem_details` from hooks.py) against the session's app served on a local port, so what is
checked is the document clients read. The run is seeded and bounded in schemathesis.toml.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "openapi.yaml"
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def live_url(app):
    """The session's app (on the test Neo4j) behind a threaded HTTP server on a free port."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def fuzzed_spec(directory: Path) -> Path:
    """openapi.yaml without the optional X-Neo4j-Bookmark request header.

    A generated bookmark is never one this server issued, so every case carrying one stopped at its 400
    and the rest of the request went untested (727 of 4,076 cases in one run even with the header mostly
    dropped by a hook). The header's rules are tested in tests/service/test_bookmarks.py.
    """
    import yaml

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    bookmark = {"$ref": "#/components/parameters/Neo4jBookmark"}
    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"] if p != bookmark]
    path = directory / "openapi.fuzzed.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def run_schemathesis(url: str, spec: Path, *options: str, timeout: int = 600,
                     env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.hooks", "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **(env or {})}
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
               "run", str(spec), "--url", url, *options]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def summary(output: str) -> str:
    """The run's closing summary (operations, phases, failures per check, test case counts)."""
    start = output.rfind("SUMMARY")
    return output[output.rfind("\n", 0, start) + 1:] if start >= 0 else output[-4000:]


def report(capsys, title: str, result: subprocess.CompletedProcess, keep: Path) -> str:
    """Print the summary (CI logs show the counts); keep the whole output, which the failure message names."""
    keep.write_text(result.stdout + result.stderr)
    with capsys.disabled():
        print(f"\n--- {title} ---\n{summary(result.stdout)}")
    return f"schemathesis failed; its full output is in {keep}\n" + result.stdout[-8000:] + result.stderr[-3000:]


def _operations() -> int:
    import yaml

    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return sum(method in {"get", "post", "put", "patch", "delete"} for item in spec["paths"].values()
               for method in item)


def test_api_conforms_to_its_openapi_document(live_url, make_key, capsys, tmp_path):
    from service.web import auth

    key = make_key(*auth.SCOPES, name="schemathesis")
    result = run_schemathesis(live_url, fuzzed_spec(tmp_path), "--header", f"Authorization: Bearer {key}")
    failure = report(capsys, "schemathesis, every scope", result, tmp_path / "schemathesis.txt")
    assert result.returncode == 0, failure
    assert f"Tested: {_operations()}" in result.stdout, "schemathesis did not test every operation"
    scenarios = re.search(r"Scenarios:\s+(\d+)", result.stdout)
    assert scenarios and int(scenarios.group(1)) > 0, "the stateful phase ran no scenario"


def test_without_a_key_every_operation_refuses_and_says_so(live_url, capsys, tmp_path):
    result = run_schemathesis(live_url, fuzzed_spec(tmp_path), "--phases", "examples,fuzzing", "--max-examples", "3",
                              "--checks", "ignored_auth,not_a_server_error,status_code_conformance,"
                                          "content_type_conformance,response_schema_conformance,problem_details",
                              env={"NETWEAVE_CONTRACT_STATUSES": "1"})
    failure = report(capsys, "schemathesis, no key", result, tmp_path / "schemathesis.txt")
    assert result.returncode == 0, failure
    found = re.search(r"^Statuses by operation: (.*)$", result.stdout, re.MULTILINE)
    assert found, failure
    statuses = json.loads(found.group(1))
    assert len(statuses) == _operations(), failure
    # Without a key every answer is 401; only a request too large to read (a generated value whose
    # encoding runs past the size limits) is refused before that, with 414 or 431. The check-in token
    # routes take no key: a made-up token is 404 (or the body is refused first, 400 or 422), never 2xx.
    token = {op: statuses.pop(op) for op in list(statuses) if op.endswith(" /v1/respond/{token}")}
    assert len(token) == 2 and all(set(found) <= {400, 404, 414, 422, 431} for found in token.values()), token
    assert {op: found for op, found in statuses.items() if not set(found) <= {401, 414, 431}} == {}, failure
    assert sum(found == [401] for found in statuses.values()) >= _operations() - 2 - 3, statuses
