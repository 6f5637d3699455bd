"""A projection kept current from the change feed, instead of re-reading the whole graph after every write.

Reading the analytics graph of 100,000 members and a million ties over Bolt takes 7 to 10 s; the algorithms
that follow take 2 to 3. So when the engine holds a projection of the same scope at an earlier revision, the
next one is derived from it: the change entries since that revision name the parties they touched (members,
organizations, both parties of a collaboration, the member of an affiliation), only those parties are read
again with every tie they have, and the graph is patched: their old ties and vertices out, what was read in.

Re-reading a party is idempotent (it reads the party's current state, not an operation), so a write that
commits while the patch is read is at worst applied early and read again by the next patch, as a full read
would also see it early. A patch gives up (None: the caller reads everything) when the feed no longer holds
the entries since the base (retention), when there are more than MAX_ENTRIES of them, or when a deleted
collaboration's parties are unknown (entries written before they carried `parties`), and when the patched
projection does not have as many members (and organizations) as the database: a write that bypassed the
feed, which is logged.

Cluster ids written back onto members are not changes; each write-back batch counts itself in the
`clusters` counter instead, and a patch whose base read the members' cluster ids under another count reads
them all again (they are what new clusterings are matched to, so every worker must see the same ones).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict

import numpy as np

from service.analytics.projection import MEMBER, Projection
from service.repositories.analytics_state import Delta

log = logging.getLogger(__name__)

MAX_ENTRIES = 20_000    # beyond this many changes since the base, a full read is about as fast


def advance(base_revision: int, base: Projection, delta: Delta | None,
            organizations: bool) -> tuple[int, Projection] | None:
    """(revision, projection) now, derived from `base` read at `base_revision` and the `delta` read since
    (service/repositories/analytics_state.py); None when a full read is needed."""
    if delta is None:
        return None
    started = time.perf_counter()
    projection = (base if delta.revision == base_revision and not delta.touched and delta.cluster_ids is None
                  else patched(base, delta))
    if not _counts_match(projection, delta.counts, organizations):
        log.warning("analytics: the live projection at revision %s lost step with the database "
                    "(a write outside the change feed?); reading it whole", delta.revision)
        return None
    if projection is not base:
        projection.origin = {"read": "patched", "changes": delta.entries,
                             "seconds": round(delta.seconds + time.perf_counter() - started, 4)}
        projection.provenance = delta.provenance
    return delta.revision, projection


def _edges_after(base: Projection, incident: list[int], kept: list[int] | None,
                 added: list[tuple[int, int]]) -> np.ndarray:
    """The patched graph's edge array from the base's, as igraph orders it: deleted edges leave the rest
    in order, vertices are renumbered in order, added edges come last."""
    edges = np.delete(base.edges, incident, axis=0) if incident else base.edges
    if kept is not None:
        renumber = np.full(base.size, -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept), dtype=np.int64)
        edges = renumber[edges]
    if added:
        edges = np.concatenate([edges, np.asarray(added, dtype=np.int64).reshape(-1, 2)])
    return edges


def _counts_match(projection: Projection, counts: dict[str, int], organizations: bool) -> bool:
    members = projection.kinds.count(MEMBER)
    return members == counts["members"] and (
        not organizations or projection.size - members == counts["organizations"])


def touched_parties(entries: list[dict], organizations: bool) -> tuple[set[str], set[str]]:
    """The party ids the change entries touched, and the collaborations among them whose entries do not
    name their parties (written before entries carried them: the repository looks those up)."""
    touched: set[str] = set()
    ties: dict[str, list[str] | None] = {}
    for entry in entries:
        resource, id_ = entry["resource"], entry["id"]
        if resource == "member" or (resource == "organization" and organizations):
            touched.add(id_)
        elif resource == "affiliation":
            touched.add(id_.split("/", 1)[0])
        elif resource == "collaboration":
            ties[id_] = ties.get(id_) or entry["parties"]
    for parties in ties.values():
        touched.update(parties or ())
    return touched, {id_ for id_, parties in ties.items() if not parties}


def patched(base: Projection, delta: Delta) -> Projection:
    """`base` with every touched party's vertex and ties replaced by what `delta` read (base is not changed).

    Old vertices keep their relative order (igraph renumbers the rest that way on deletion); new parties
    are appended. A tie between two touched parties is listed in both their rows and counted once, by id.
    """
    index = base.index
    present = {row[0]: row for row in delta.rows}
    old = sorted(index[party] for party in delta.touched if party in index)
    gone = {v for v in old if base.ids[v] not in present}
    graph = base.graph.copy()
    incident = sorted({edge for v in old for edge in base.graph.incident(v)})
    if incident:
        graph.delete_edges(incident)
    if gone:
        graph.delete_vertices(sorted(gone))     # igraph rebuilds its index on each change: skip empty ones

    kept = [v for v in range(base.size) if v not in gone] if gone else None
    added = [party for party in present if party not in index]

    def column(values: list, position: int | None = None) -> list:
        out = [values[v] for v in kept] if kept is not None else list(values)   # list(): a C-speed copy
        if position is None:
            out.extend(added)
        else:
            out.extend(present[party][position] for party in added)
        return out

    ids = column(base.ids)
    projection = Projection(
        ids=ids, kinds=column(base.kinds, 1), regions=column(base.regions, 2), roles=column(base.roles, 3),
        topics=column(base.topics, 4), organizations=column(base.organizations, 5), graph=graph,
        previous_clusters=column(base.previous_clusters, 8) if base.previous_clusters else [],
        cluster_mark=delta.cluster_mark)
    if kept is None:
        new_index = dict(index)
        new_index.update((party, base.size + k) for k, party in enumerate(added))
    else:
        new_index = {party: i for i, party in enumerate(ids)}
    projection._index = new_index
    for party, row in present.items():
        if party in index:
            i = new_index[party]
            projection.kinds[i], projection.regions[i], projection.roles[i] = row[1], row[2], row[3]
            projection.topics[i], projection.organizations[i] = row[4], row[5]
            if projection.previous_clusters:
                projection.previous_clusters[i] = row[8]
    if delta.cluster_ids is not None and projection.previous_clusters:
        projection.previous_clusters = [delta.cluster_ids.get(party) if kind == "member" else None
                                        for party, kind in zip(ids, projection.kinds)]

    weights: dict[tuple[int, int], int] = defaultdict(int)
    seen: set[str] = set()
    for party, row in present.items():
        i = new_index[party]
        for other, strength, key in zip(row[6], row[7], row[9]):
            j = new_index.get(other)
            if j is None or j == i or key in seen:
                continue
            seen.add(key)
            weights[(i, j) if i < j else (j, i)] += strength
    if added:
        graph.add_vertices(len(added))
    if weights:
        graph.add_edges(list(weights), attributes={"weight": list(weights.values())})
    projection._edges = _edges_after(base, incident, kept, list(weights))
    return projection


__all__ = ["advance", "patched", "Delta", "MAX_ENTRIES"]

