"""What every write of a member, organization, collaboration or affiliation does to its record first: its
vocabulary values resolved (open vocabularies grow, closed ones refuse) and its custom attributes checked
against their definitions, in the write's own transaction."""

from __future__ import annotations

from typing import Any

from neo4j import ManagedTransaction

from service.problems import Problem
from service.repositories import attributes, vocabularies


def prepare(tx: ManagedTransaction, resource: str, record: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """The properties to store for `record`; a 422 naming the field when a value is refused."""
    values = record.get("attributes")
    props, found = vocabularies.normalise(tx, resource, record, definitions_of=resource if values else None)
    props.pop("attributes", None)
    if values:
        stored, errors = attributes.to_props(attributes.loaders(attributes.by_name(found)), values, resource)
        if errors:
            fields = ", ".join(error["field"] for error in errors)
            raise Problem(422, f"invalid {fields}", slug="validation-error", errors=errors)
        props.update({key: value for key, value in stored.items() if value is not None or not creating})
    return props
