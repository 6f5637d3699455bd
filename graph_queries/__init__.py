"""Named Cypher statements, loaded from the .cypher files beside this module.

Each statement is headed by `// name: <name>` and a comment saying what it
returns; values are always `$parameters`, never formatted into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_NAME_LINE = re.compile(r"^//\s*name:\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
_QUERY_DIR = Path(__file__).resolve().parent


class QueryFileError(ValueError):
    """A .cypher file is malformed: duplicate name, empty statement, text before the first name."""


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    origin: str  # "file.cypher:line", for error messages and logs


def parse(text: str, filename: str) -> list[Query]:
    """Split one file's text into its named statements."""
    queries: list[Query] = []
    name, start, body = None, 0, []
    for lineno, line in enumerate(text.splitlines(), start=1):
        match = _NAME_LINE.match(line.strip())
        if match:
            if name is not None:
                queries.append(_finish(name, body, f"{filename}:{start}"))
            name, start, body = match["name"], lineno, []
        elif name is not None:
            body.append(line)
        elif line.strip() and not line.strip().startswith("//"):
            raise QueryFileError(f"{filename}:{lineno}: statement text before any '// name:' line")
    if name is not None:
        queries.append(_finish(name, body, f"{filename}:{start}"))
    return queries


def _finish(name: str, body: list[str], origin: str) -> Query:
    code = [line for line in body if line.strip() and not line.strip().startswith("//")]
    if not code:
        raise QueryFileError(f"{origin}: statement '{name}' is empty")
    return Query(name=name, text="\n".join(body).strip(), origin=origin)


@cache
def load_all(directory: Path = _QUERY_DIR) -> dict[str, Query]:
    """Every statement of every .cypher file in `directory`, by name; names are unique."""
    queries: dict[str, Query] = {}
    for path in sorted(directory.glob("*.cypher")):
        for query in parse(path.read_text(encoding="utf-8"), path.name):
            if query.name in queries:
                raise QueryFileError(
                    f"{query.origin}: duplicate statement name '{query.name}' "
                    f"(first defined at {queries[query.name].origin})"
                )
            queries[query.name] = query
    return queries


def get(name: str) -> Query:
    """The statement called `name`; KeyError names the missing statement."""
    try:
        return load_all()[name]
    except KeyError:
        raise KeyError(f"no Cypher statement named '{name}' in graph_queries/") from None


def schema_statements() -> list[Query]:
    """The statements of every schema*.cypher file (constraints, indexes), file by file in order."""
    return [query for query in load_all().values() if query.origin.startswith("schema")]
