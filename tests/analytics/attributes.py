"""Custom attributes for the segment tests, defined and set through the API (PUT /v1/attributes/...,
PATCH /v1/members/{id} with `attributes`), as a network's integration would. Each value is a write in the
change feed, so set them before the first analytics call of a test (or expect a recomputation)."""

from __future__ import annotations

from datetime import date
from typing import Any


def define_member_attribute(api, name: str, type_: str, *, pii: bool = False, target: str = "member") -> None:
    """Defines an attribute of members (or, with `target`, of organizations or collaborations)."""
    response = api.put(f"/v1/attributes/{target}/{name}", json={"type": type_, "pii": pii})
    assert response.status_code == 201, response.get_data(as_text=True)


def set_member_attribute(api, name: str, values: dict[str, Any]) -> None:
    """values: member id -> value (None leaves the member without one)."""
    for member_id, value in values.items():
        if value is None:
            continue
        sent = value.isoformat() if isinstance(value, date) else value
        response = api.patch(f"/v1/members/{member_id}", json={"attributes": {name: sent}},
                             headers={"If-Match": "*"})
        assert response.status_code == 200, response.get_data(as_text=True)
