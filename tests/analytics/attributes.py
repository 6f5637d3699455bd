"""Custom member attributes for the segment tests, in the storage contract of the attributes API.

Until PUT /v1/attributes/member/{name} and members' `attributes` land, definitions and values are written with
the test-only statements of tests/queries/lenses.cypher; these two functions are the only callers, so moving to
the API is a change here alone. The values are written outside the change feed, so they do not move the graph
revision that analytics are cached by: set them before the first analytics call of a test.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import run_test_query


def define_member_attribute(graph, name: str, type_: str, *, pii: bool = False, target: str = "member") -> None:
    """Defines an attribute of members (or, with `target`, of organizations or collaborations)."""
    run_test_query(graph, "test_attribute_define", target=target, attribute=name, type=type_, pii=pii)


def set_member_attribute(graph, name: str, values: dict[str, Any]) -> None:
    """values: member id -> value (None leaves the member without one)."""
    rows = [{"id": member_id, "properties": {f"attr.{name}": value}} for member_id, value in values.items()]
    assert run_test_query(graph, "test_attribute_set_values", rows=rows)[0]["written"] == len(rows)
