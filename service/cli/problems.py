"""How the `netweave` command shows a problem: one readable line, naming the option when there is one."""

from __future__ import annotations

from typing import Any, Mapping

import click
from marshmallow import ValidationError
from neo4j.exceptions import AuthError, ConnectionPoolError, ServiceUnavailable, SessionExpired

from service.problems import Problem, flatten_messages


def messages_line(messages: Any, values: Mapping[str, Any] | None = None) -> str:
    """marshmallow's nested messages as `--option: message` parts; list items are named by their value.

    {"scopes": {"1": ["Must be one of: ..."]}} with values {"scopes": ["read", "root"]} reads
    `--scopes: 'root': Must be one of: ...`; a field's messages are joined with "; " too.
    """
    if not isinstance(messages, Mapping):
        return _sentences(messages if isinstance(messages, list) else [messages])
    parts = []
    for error in flatten_messages(messages, "cli"):
        top, _, rest = error["field"].partition(".")
        where = f"--{top.replace('_', '-')}" if top != "_schema" else "options"
        value = (values or {}).get(top)
        if rest.isdigit() and isinstance(value, (list, tuple)) and int(rest) < len(value):
            where += f": {value[int(rest)]!r}"
        elif rest:
            where += f" ({rest})"
        parts.append(f"{where}: {_sentences(error['messages'])}")
    return "; ".join(parts)


def _sentences(messages: list[Any]) -> str:
    return "; ".join(str(message).rstrip(".") for message in messages)


def problem_line(problem: Problem) -> str:
    """A Problem from code the API shares (a repository, an argument check) as one line."""
    if problem.errors:
        return "; ".join(f"{error['field']}: {_sentences(error['messages'])}" for error in problem.errors)
    return problem.detail


def database_line(error: Exception) -> str:
    first = str(error).strip().splitlines()[0].rstrip(":") if str(error).strip() else type(error).__name__
    if isinstance(error, AuthError):
        return f"Neo4j refused the credentials (NEO4J_USER, NEO4J_PASSWORD): {first}"
    return f"the graph database is unreachable ({first}); is Neo4j running, and is NEO4J_URI right?"


class ProblemGroup(click.Group):
    """A command group whose commands' problems print as one `Error:` line (exit 1): a Problem or a
    ValidationError from code the API shares, or a database that cannot be reached. Without it, each
    ends the command in a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Problem as problem:
            raise click.ClickException(problem_line(problem)) from None
        except ValidationError as exc:
            raise click.ClickException(messages_line(exc.messages)) from None
        except (ServiceUnavailable, SessionExpired, ConnectionPoolError, AuthError) as error:
            raise click.ClickException(database_line(error)) from None
