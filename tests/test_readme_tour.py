"""README.md's "API tour" and "Syncing a CRM", run as printed: their `sh` blocks, in order, in one bash with
`set -euo pipefail`, against `netweave serve` on an empty graph, from a directory holding `.netweave/admin-key`
as `make run` leaves it, with `NW` set to the server's address (the tour keeps `NW` when it is set).

What the README shows as a command's answer: the comment lines directly under it (no blank line between),
either JSON or text lines. In JSON, `"..."` stands for any value but null, `...` inside a string for any text
(`"nw_..."`), and a bare `...` as the last item of a list or an object for more items or keys; otherwise key
sets, list lengths and values must be what the API answered. Text lines must equal the output's lines, `...`
again standing for any text. A comment after a blank line, or on the command's own line, is prose and is not
compared. Every curl call must answer 2xx, unless the answer shown is a problem with another `status` (a shell
function hands each call to curl with `-w` writing its status to stderr; what it prints is untouched).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN_SECRET
from tests.support import stop, wait_until_serving

README = Path(__file__).resolve().parent.parent / "README.md"
SECTIONS = ("API tour", "Syncing a CRM")
ANY = "..."
MORE = "\u0000more"  # what a bare ... becomes while the shown JSON is parsed
STATUS_MARK = "netweave-tour-status"


@dataclass
class Command:
    text: str
    line: int                   # its first line in README.md
    shown: list[str]            # the comment lines under it, without their '#'


# --- reading the README ----------------------------------------------------------------------------------

def shell_blocks(markdown: str, sections: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """The `sh` fenced blocks under the `## <section>` headings, each as (line of its first line, lines)."""
    blocks, fence, section = [], None, None
    for number, line in enumerate(markdown.splitlines(), start=1):
        if fence is not None:
            if line.strip() == "```":
                if section in sections and fence[0] == "sh":
                    blocks.append((fence[1], fence[2]))
                fence = None
            else:
                fence[2].append(line)
        elif line.startswith("```"):
            fence = (line[3:].strip(), number + 1, [])
        elif line.startswith("## "):
            section = line[3:].strip()
    return blocks


def commands(first_line: int, lines: list[str]) -> list[Command]:
    """A command runs to the line where its quotes close and no backslash continues it; the comment lines
    right under it are its shown answer."""
    found: list[Command] = []
    pending: list[str] = []
    start = after = 0  # where the pending command starts; the line a shown line must follow
    for offset, line in enumerate(lines):
        stripped = line.lstrip()
        if pending:
            pending.append(line)
        elif stripped.startswith("#"):
            if found and offset == after + 1:
                found[-1].shown.append(stripped[1:])
                after = offset
            continue
        elif stripped:
            pending, start = [line], offset
        else:
            continue
        if _complete("\n".join(pending)):
            found.append(Command("\n".join(pending), first_line + start, []))
            pending, after = [], offset
    assert not pending, f"README.md:{first_line + start}: a command whose quotes never close"
    return found


def _complete(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:  # an open quote, or a backslash before the line's end
        return False
    return True


# --- what the README shows, against what the commands printed --------------------------------------------

def shown_json(lines: list[str]):
    """The shown lines as JSON, a bare ... (or …) outside strings replaced by MORE."""
    text = "\n".join(lines).replace("\u2026", ANY)
    out, stack, in_string, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[i + 1])
                i += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith(ANY, i):
            out.append(json.dumps(MORE) + (": null" if stack and stack[-1] == "{" else ""))
            i += len(ANY) - 1
        else:
            if char in "[{":
                stack.append(char)
            elif char in "]}":
                stack.pop()
            out.append(char)
        i += 1
    return json.loads("".join(out))


def mismatches(shown, actual, path: str = "$") -> list[str]:
    """Where the actual JSON value differs from the shown one, one line per difference."""
    if shown == ANY:
        return [] if actual is not None else [f"{path}: shown any value, answered null"]
    if isinstance(shown, dict):
        if not isinstance(actual, dict):
            return [f"{path}: shown an object, answered {json.dumps(actual)}"]
        keys = set(shown) - {MORE}
        problems = []
        if MORE not in shown and set(actual) != keys:
            problems.append(f"{path}: keys shown {sorted(keys)}, answered {sorted(actual)}")
        for key in sorted(keys):
            if key in actual:
                problems += mismatches(shown[key], actual[key], f"{path}.{key}")
            elif MORE in shown:
                problems.append(f"{path}.{key}: shown, not in the answer")
        return problems
    if isinstance(shown, list):
        if not isinstance(actual, list):
            return [f"{path}: shown a list, answered {json.dumps(actual)}"]
        open_ended = bool(shown) and shown[-1] == MORE
        items = shown[:-1] if open_ended else shown
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return [f"{path}: shown {len(items)}{' or more' if open_ended else ''} items, answered {len(actual)}"]
        return [problem for n, item in enumerate(items) for problem in mismatches(item, actual[n], f"{path}[{n}]")]
    if isinstance(shown, str) and isinstance(actual, str) and ANY in shown:
        return [] if _pattern(shown).fullmatch(actual) else [f"{path}: shown {shown!r}, answered {actual!r}"]
    if shown == actual and type(shown) is type(actual):
        return []
    return [f"{path}: shown {json.dumps(shown)}, answered {json.dumps(actual)}"]


def _pattern(shown: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in shown.split(ANY)), re.DOTALL)


def compare(command: Command, output: str) -> list[str]:
    lines = [line.removeprefix(" ") for line in command.shown]
    if lines[0].lstrip().startswith(("{", "[")):
        try:
            actual = json.loads(output)
        except json.JSONDecodeError:
            return [f"shown JSON, answered {output!r}"]
        return mismatches(shown_json(lines), actual)
    printed = output.rstrip("\n").replace("\r", "").split("\n")
    if len(printed) != len(lines) or not all(_pattern(s).fullmatch(p) for s, p in zip(lines, printed)):
        return [f"shown {lines}, printed {printed}"]
    return []


def allowed_statuses(command: Command) -> set[int]:
    """2xx, and the status of a problem the README shows."""
    allowed = set(range(200, 300))
    if command.shown and command.shown[0].lstrip().startswith("{"):
        shown = shown_json([line.removeprefix(" ") for line in command.shown])
        if isinstance(shown, dict) and isinstance(shown.get("status"), int):
            allowed.add(shown["status"])
    return allowed


# --- running them ---------------------------------------------------------------------------------------

def script(tour: list[Command], outputs: Path) -> str:
    """One bash script: each command in a brace group (it runs in this shell, so variables carry on) with its
    stdout and stderr in files of its own; curl also writes each call's status to stderr."""
    lines = ["set -euo pipefail",
             f"curl() {{ command curl -w '%{{stderr}}\\n{STATUS_MARK} %{{http_code}}\\n' \"$@\"; }}"]
    for n, command in enumerate(tour):
        lines += ["{", command.text, f"}} >{outputs}/{n}.out 2>{outputs}/{n}.err"]
    return "\n".join(lines) + "\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(graph, neo4j_settings, tmp_path):
    """`netweave serve` on the session's Neo4j (emptied for this test), started from a directory of the
    test's own that holds .netweave/admin-key."""
    home = tmp_path / "home"
    (home / ".netweave").mkdir(parents=True)
    (home / ".netweave" / "admin-key").write_text(ADMIN_SECRET + "\n")
    port = _free_port()
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("NETWEAVE_", "NEO4J_", "REDIS_")) or name == "NETWEAVE_ANALYTICS_SNAPSHOT_DIR"}
    env.update({name: value for name, value in neo4j_settings.items() if value})
    env.update(NETWEAVE_ADMIN_KEY=ADMIN_SECRET, NETWEAVE_WORKERS="1")
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-c", "from service.cli.main import main; main()", "serve",
                                    "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=home)
    try:
        wait_until_serving(port, process, log=log, seconds=60)
        yield home, f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def test_a_shown_answer_fixes_key_sets_lengths_and_values_and_leaves_only_the_wildcards_open():
    shown = shown_json(['{"id": "...", "secret": "nw_...", "items": [{"name": "Ada", ...}, ...],',
                        ' "next_cursor": null}'])
    answer = {"id": "7", "secret": "nw_x", "items": [{"name": "Ada", "role": "coach"}, {}], "next_cursor": None}
    assert mismatches(shown, answer) == []
    assert mismatches(shown, {**answer, "items": [{"name": "Ben"}]}) == ['$.items[0].name: shown "Ada", answered "Ben"']
    assert mismatches(shown, {**answer, "version": 1}) == [
        "$: keys shown ['id', 'items', 'next_cursor', 'secret'], answered ['id', 'items', 'next_cursor', "
        "'secret', 'version']"]
    assert mismatches(shown, {**answer, "id": None, "secret": "key"}) == [
        "$.id: shown any value, answered null", "$.secret: shown 'nw_...', answered 'key'"]
    assert mismatches(shown_json(['{"strength": 4}']), {"strength": 4.0}) == ['$.strength: shown 4, answered 4.0']


def test_the_readme_tour_runs_as_printed_and_answers_what_it_shows(served, tmp_path):
    home, base = served
    assert shutil.which("curl") and shutil.which("jq"), "the tour needs curl and jq (`make test` installs them)"
    blocks = shell_blocks(README.read_text(encoding="utf-8"), SECTIONS)
    tour = [command for first_line, lines in blocks for command in commands(first_line, lines)]
    assert len(blocks) >= 2 and sum(1 for command in tour if command.shown) >= 10, "the tour shows few answers"
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in ("KEY", "auth")}
    run = subprocess.run(["bash", "-c", script(tour, outputs)], cwd=home, env={**env, "NW": base},
                         capture_output=True, text=True, timeout=120)

    failures = []
    for n, command in enumerate(tour):
        where = f"README.md:{command.line}: {command.text.splitlines()[0].strip()}"
        if not (outputs / f"{n}.err").exists():
            break
        output, errors = (outputs / f"{n}.out").read_text(), (outputs / f"{n}.err").read_text()
        statuses = [int(code) for code in re.findall(rf"^{STATUS_MARK} (\d+)$", errors, re.MULTILINE)]
        refused = [status for status in statuses if status not in allowed_statuses(command)]
        if refused:
            failures.append(f"{where}\n  answered {refused}: {output[:500]}")
        elif command.shown:
            failures += [f"{where}\n  {problem}" for problem in compare(command, output)]
    ran = len(list(outputs.glob("*.err")))
    if run.returncode != 0:
        failed = tour[ran - 1]
        failures.append(f"README.md:{failed.line}: the command failed (exit {run.returncode}):\n{failed.text}\n"
                        f"{(outputs / f'{ran - 1}.err').read_text()}{run.stderr}")
    assert not failures, "\n".join(failures)
    assert ran == len(tour)
