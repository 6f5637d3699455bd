"""Loads a generated network into Neo4j in batches (the demo network of `netweave seed --demo`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Callable, Iterator

from service import db
from service.cli.demo import DemoNetwork
from service.repositories import changes

BATCH_SIZE = 1000
_NAMESPACE = uuid.UUID("5b0a3f0e-1c55-4a53-9a38-0b8d2f1f7e11")


def stable_id(seed: int, key: str) -> str:
    """The same demo network always gets the same ids, so links into it survive a reload."""
    return str(uuid.uuid5(_NAMESPACE, f"{seed}:{key}"))


def graph_is_empty(graph: db.Graph) -> bool:
    return graph.read(lambda tx: db.run_one(tx, "seed_graph_is_empty"))["empty"]


def row_count(network: DemoNetwork) -> int:
    """How many rows `load` writes (for progress)."""
    return sum(len(rows) for rows in (network.organizations, network.members, network.affiliations,
                                      network.collaborations))


def load(graph: db.Graph, network: DemoNetwork, seed: int,
         on_batch: Callable[[int], None] = lambda rows: None) -> dict[str, int]:
    """Write every node and tie of `network`, calling `on_batch(rows)` after each committed batch; returns how
    many of each were written."""
    ids = {row["key"]: stable_id(seed, row["key"]) for row in (*network.organizations, *network.members)}
    batches = {
        "seed_organizations": [_node_row(row, ids) for row in network.organizations],
        "seed_members": [_node_row(row, ids) for row in network.members],
        "seed_affiliations": [_affiliation_row(row, ids) for row in network.affiliations],
        "seed_collaborations": [_collaboration_row(row, ids, seed) for row in network.collaborations],
    }
    for query, rows in batches.items():
        for chunk in _chunks(rows, BATCH_SIZE):
            graph.write(_write_batch, query, chunk)
            on_batch(len(chunk))
    return {query.removeprefix("seed_"): len(rows) for query, rows in batches.items()}


_RESOURCE_OF = {"seed_organizations": "organization", "seed_members": "member",
                "seed_affiliations": "affiliation", "seed_collaborations": "collaboration"}


def _write_batch(tx, query: str, rows: list[dict[str, Any]]) -> None:
    db.run(tx, query, rows=rows)
    resource = _RESOURCE_OF[query]
    changes.record(tx, [changes.change(resource, _row_id(resource, row), "create", source="demo") for row in rows])


def _row_id(resource: str, row: dict[str, Any]) -> str:
    if resource == "affiliation":
        return changes.affiliation_id(row["member_id"], row["organization_id"])
    return row["id"]


def _node_row(row: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    props = {key: value for key, value in row.items() if key != "key" and value is not None}
    return {"id": ids[row["key"]], "props": props}


def _affiliation_row(row: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    return {"member_id": ids[row["member_key"]], "organization_id": ids[row["organization_key"]],
            "role": row["role"], "since": _date(row.get("since"))}


def _collaboration_row(row: dict[str, Any], ids: dict[str, str], seed: int) -> dict[str, Any]:
    props = {"kind": row["kind"], "strength": row["strength"], "started_on": _date(row.get("started_on")),
             "ended_on": _date(row.get("ended_on")), "note": row.get("note"), "source": "demo"}
    key = f"{row['source_key']}~{row['target_key']}"
    return {"id": stable_id(seed, key), "source_id": ids[row["source_key"]], "target_id": ids[row["target_key"]],
            "props": {k: v for k, v in props.items() if v is not None}}


def _date(value: str | None):
    return db.to_cypher(date.fromisoformat(value)) if value else None


def _chunks(rows: list[dict], size: int) -> Iterator[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


__all__ = ["load", "graph_is_empty", "stable_id", "BATCH_SIZE"]
