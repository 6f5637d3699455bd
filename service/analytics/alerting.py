"""Network alerts: each new default report (bridges, clusters, health) compared with the previous one.

A report is first reduced to a digest (ids, names and the figures compared; never an email). The comparisons
are pure functions of two digests and the thresholds; each reports the moment a condition starts (a member
becomes a cut point, a cluster becomes a silo), not every report in which it holds, so an event alerts once.
`observe` runs them in one transaction with the question's stored baseline, which only moves forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from service import db

QUESTIONS = ("bridges", "clusters", "health")
# Numeric figures of the health report an alert can follow (nested ones by dotted name).
HEALTH_METRICS = ("members", "ties", "density", "average_degree", "components", "largest_component_share",
                  "isolates", "transitivity", "average_clustering", "degree_centralization", "modularity",
                  "average_shortest_path", "ei_index.organization", "ei_index.region", "ei_index.role", "kcore.k",
                  "kcore.size", "core_periphery.core_share", "core_periphery.core_density",
                  "core_periphery.periphery_density", "core_periphery.between_density")
TOP_MEMBERS = 5


@dataclass(frozen=True)
class Thresholds:
    cut_point_min_cut_off: int = 3
    broker_top_k: int = 5
    silo_ei_threshold: float = -0.7
    silo_min_size: int = 5
    health_metric: str = "largest_component_share"
    health_threshold: float = 0.1


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str | None
    data: dict[str, Any]


# --- digests ---------------------------------------------------------------------------------------

def digest(question: str, report: dict) -> dict:
    """What the comparisons need of a report, small enough to keep as the next one's baseline."""
    return {"bridges": _bridges_digest, "clusters": _clusters_digest, "health": _health_digest}[question](report)


def _bridges_digest(report: dict) -> dict:
    listed = report["articulation_points"]
    return {"revision": report["computed"]["revision"],
            "cut_points": {p["member"]["id"]: {"name": p["member"]["name"], "cut_off": p["cut_off"]} for p in listed},
            # Listed most cut off first: an unlisted member cuts off at most the last listed one's count.
            "cut_points_floor": listed[-1]["cut_off"] if len(listed) < report["articulation_points_total"] else None,
            "brokers": [{"id": b["member"]["id"], "name": b["member"]["name"], "betweenness": b["betweenness"]}
                        for b in report["brokers"]]}


def _clusters_digest(report: dict) -> dict:
    listed = report["clusters"]
    return {"revision": report["computed"]["revision"],
            "clusters": {c["id"]: {"size": c["size"], "ei_index": c["ei_index"], "internal_ties": c["internal_ties"],
                                   "external_ties": c["external_ties"],
                                   "top_members": [{"id": m["id"], "name": m["name"]}
                                                   for m in c["top_members"][:TOP_MEMBERS]]} for c in listed},
            # Listed largest first: an unlisted cluster is at most as large as the last listed one.
            "clusters_floor": listed[-1]["size"] if len(listed) < report["clusters_total"] else None}


def _health_digest(report: dict) -> dict:
    revision = report["computed"]["revision"]
    values = {name: [value, revision] for name, value in _flat(report["metrics"]).items()}
    return {"revision": revision, "anchors": values, "latest": dict(values)}


def _flat(metrics: dict, prefix: str = "") -> dict[str, float | None]:
    found: dict[str, float | None] = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            found.update(_flat(value, f"{prefix}{name}."))
        elif value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            found[prefix + name] = value
    return found


# --- comparisons -----------------------------------------------------------------------------------

def _revisions(previous: dict, current: dict) -> dict[str, int]:
    return {"revision": current["revision"], "previous_revision": previous["revision"]}


def new_cut_points(previous: dict, current: dict, thresholds: Thresholds) -> list[Alert]:
    """Members who now cut off at least `cut_point_min_cut_off` members and did not before."""
    least = thresholds.cut_point_min_cut_off
    floor = previous["cut_points_floor"]
    alerts = []
    for member_id, point in current["cut_points"].items():
        before = previous["cut_points"].get(member_id)
        if point["cut_off"] < least or (before is not None and before["cut_off"] >= least):
            continue
        if before is None and floor is not None and floor >= least:
            continue    # it may have been an unlisted cut point of that size: unknown, so no alert
        alerts.append(Alert("cut_point.new", member_id, {
            "member_id": member_id, "name": point["name"], "cut_off": point["cut_off"],
            "previous_cut_off": before["cut_off"] if before else None, "min_cut_off": least,
            **_revisions(previous, current)}))
    return alerts


def inactive_brokers(previous: dict, current: dict, ties: dict[str, int | None],
                     thresholds: Thresholds) -> list[Alert]:
    """Members of the previous top `broker_top_k` brokers who are gone (`ties` None) or have no tie now."""
    alerts = []
    for rank, broker in enumerate(previous["brokers"][:thresholds.broker_top_k], start=1):
        count = ties.get(broker["id"])
        if count:
            continue
        alerts.append(Alert("broker.inactive", broker["id"], {
            "member_id": broker["id"], "name": broker["name"], "reason": "deleted" if count is None else "no_ties",
            "rank": rank, "betweenness": broker["betweenness"], "top_k": thresholds.broker_top_k,
            **_revisions(previous, current)}))
    return alerts


def new_silos(previous: dict, current: dict, thresholds: Thresholds) -> list[Alert]:
    """Clusters of at least `silo_min_size` members whose E-I index is now below `silo_ei_threshold` and
    was not before (or that did not exist before)."""
    floor = previous["clusters_floor"]
    alerts = []
    for cluster_id, cluster in current["clusters"].items():
        before = previous["clusters"].get(cluster_id)
        if not _silo(cluster, thresholds) or (before is not None and _silo(before, thresholds)):
            continue
        if before is None and floor is not None and floor >= thresholds.silo_min_size:
            continue    # it may have been an unlisted silo: unknown, so no alert
        alerts.append(Alert("silo", cluster_id, {
            "cluster_id": cluster_id, "size": cluster["size"], "ei_index": cluster["ei_index"],
            "previous_ei_index": before["ei_index"] if before else None, "internal_ties": cluster["internal_ties"],
            "external_ties": cluster["external_ties"], "threshold": thresholds.silo_ei_threshold,
            "top_members": cluster["top_members"], **_revisions(previous, current)}))
    return alerts


def _silo(cluster: dict, thresholds: Thresholds) -> bool:
    return (cluster["size"] >= thresholds.silo_min_size and cluster["ei_index"] is not None
            and cluster["ei_index"] < thresholds.silo_ei_threshold)


def health_moves(previous: dict, current: dict, thresholds: Thresholds) -> tuple[list[Alert], dict]:
    """(alerts, the digest to keep). The chosen metric alerts when it moved past the threshold between the
    previous report and this one, or since its value at its last alert (or at the first report), so a slow
    drift alerts too once it adds up; `compared_with` says which (the last alert's when both moved that far).
    The other metrics follow each report, so choosing one starts from its latest value."""
    name = thresholds.health_metric
    now = current["anchors"].get(name)
    anchor = previous["anchors"].get(name)
    last = previous.get("latest", previous["anchors"]).get(name)     # digests kept before `latest`: anchors
    if now is None or now[0] is None:
        return [], current
    for then, compared_with in ((anchor, "last alert"), (last, "previous report")):
        if then is None or then[0] is None or abs(now[0] - then[0]) <= thresholds.health_threshold:
            continue
        return [Alert("health.changed", name, {
            "metric": name, "from": then[0], "to": now[0], "change": now[0] - then[0],
            "threshold": thresholds.health_threshold, "compared_with": compared_with,
            "revision": current["revision"], "previous_revision": then[1]})], current
    if anchor is None or anchor[0] is None:
        return [], current
    return [], {**current, "anchors": {**current["anchors"], name: anchor}}


def compare(question: str, previous: dict, current: dict, thresholds: Thresholds,
            ties: Callable[[list[str]], dict[str, int | None]]) -> tuple[list[Alert], dict]:
    """(alerts, the digest to keep as the next baseline) for two digests of `question`."""
    if question == "bridges":
        top = [broker["id"] for broker in previous["brokers"][:thresholds.broker_top_k]]
        return (new_cut_points(previous, current, thresholds)
                + inactive_brokers(previous, current, ties(top), thresholds)), current
    if question == "clusters":
        return new_silos(previous, current, thresholds), current
    return health_moves(previous, current, thresholds)


# --- against the stored baseline -------------------------------------------------------------------

def observe(graph: db.Graph, question: str, report: dict,
            ties: Callable[[list[str]], dict[str, int | None]]) -> list[int]:
    """Compares a default report with the question's baseline and emits its alerts, in one transaction; the
    seqs emitted. A report not newer than the baseline (one computed twice, or overtaken) emits nothing; the
    first report only becomes the baseline. `ties(ids)`: each member's tie count in the report's graph
    (None: no such member)."""
    from service.repositories import alerts

    current = digest(question, report)

    def work(tx) -> list[int]:
        baseline = alerts.baseline(tx, question)
        if baseline is not None and baseline["revision"] >= current["revision"]:
            return []
        found, kept = ([], current) if baseline is None else compare(
            question, baseline, current, alerts.thresholds(tx), ties)
        seqs = [alerts.emit(tx, alert.kind, alert.data, subject=alert.subject) for alert in found]
        alerts.keep_baseline(tx, question, kept["revision"], json.dumps(kept, separators=(",", ":")))
        return seqs

    return graph.write(work)
