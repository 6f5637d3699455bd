"""Exports of the analytics graph for Gephi (GraphML, GEXF), Kumu (JSON) and spreadsheets (CSV in a zip).

An export reads its rows in one read transaction, opened before the first byte is sent (so a database
problem is still a proper error response, and the revision the analytics attributes are looked up by is
read first; Neo4j reads committed data, so a write committed during a long export may show in the rows
read after it), and writes them as a
stream of byte chunks: neither the rows nor the document are ever held whole in memory. The zip of
the CSV format is streamed too (zipfile writes entries with data descriptors to an unseekable sink).

Analytics attributes (cluster_id, betweenness, articulation_point) are never computed here, because an
export must stay cheap; see `AnalyticsAttributes` for where each comes from and how the answer says so.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Iterator

import neo4j
import neo4j.time

import graph_queries
from service import db
from service.exports.xmltext import xml_attribute, xml_chars, xml_text

CHUNK_BYTES = 64 * 1024
FETCH_SIZE = 1000
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    extension: str


FORMATS = {
    "graphml": Format("graphml", "application/graphml+xml", "graphml"),
    "gexf": Format("gexf", "application/gexf+xml", "gexf"),
    "json": Format("json", "application/json", "json"),
    "csv": Format("csv", "application/zip", "zip"),
}


@dataclass(frozen=True)
class Selection:
    """Which part of the network: the analytics graph of `as_of` (organizations as nodes when asked), and
    the members that pass the filters (with filters, the organizations those members belong to); with
    `source`, only the collaborations of that source (every selected member stays a node)."""

    as_of: date
    organizations: bool = False
    organization_id: str | None = None
    region: str | None = None
    role: str | None = None
    source: str | None = None

    def params(self) -> dict[str, Any]:
        return {"as_of": db.to_cypher(self.as_of), "organizations": self.organizations,
                "organization_id": self.organization_id, "region": self.region, "role": self.role,
                "source": self.source}

    @property
    def filtered(self) -> bool:
        return any((self.organization_id, self.region, self.role))


# --- attributes: (name, GraphML/GEXF type); a node or tie without a value simply lacks the attribute -------

NODE_ATTRIBUTES = [
    ("type", "string"), ("label", "string"), ("email", "string"), ("role", "string"), ("title", "string"),
    ("region", "string"), ("topics", "string"), ("populations", "string"), ("discoverable", "boolean"),
    ("organizations", "string"), ("organization_ids", "string"), ("kind", "string"),
    ("cluster_id", "string"), ("betweenness", "double"), ("articulation_point", "boolean"),
    ("cluster_name", "string"), ("x", "double"), ("y", "double"), ("size", "double"), ("color", "string"),
]
# Where each member is drawn, as the explorer and the pictures draw it (see `LayoutAttributes`); GEXF writes
# them as its viz elements instead of attributes.
LAYOUT_ATTRIBUTES = ("x", "y", "size", "color")
TIE_ATTRIBUTES = [
    ("tie", "string"), ("kind", "string"), ("strength", "int"), ("trust", "int"), ("value", "int"),
    ("reciprocated", "boolean"), ("weight", "double"), ("started_on", "string"),
    ("ended_on", "string"), ("source_system", "string"), ("note", "string"), ("role", "string"),
    ("since", "string"), ("until", "string"),
]


def node_attributes(pii: bool) -> list[tuple[str, str]]:
    """Email is personal data: without `pii` the attribute is not even declared."""
    return [(name, kind) for name, kind in NODE_ATTRIBUTES if pii or name != "email"]


# A custom attribute's type as an export attribute type (a tags field is a joined string, as topics are).
_CUSTOM_TYPES = {"string": "string", "enum": "string", "date": "string", "tags": "string", "integer": "long",
                 "number": "double", "boolean": "boolean"}


class CustomAttributes:
    """The network's own fields in an export: each under its name (or "attr.<name>" when a built-in attribute
    already has that name), typed, personal ones only with `pii`. Members and organizations share the node
    attributes (a name defined on both with different types is a string)."""

    def __init__(self, definitions: list[dict[str, Any]], pii: bool):
        shown = [d for d in definitions if pii or not d.get("pii")]
        self.nodes = self._columns([d for d in shown if d["target"] in ("member", "organization")],
                                   {name for name, _ in NODE_ATTRIBUTES})
        self.ties = self._columns([d for d in shown if d["target"] == "collaboration"],
                                  {name for name, _ in TIE_ATTRIBUTES})
        self.hidden = {(d["target"], d["name"]) for d in definitions} - {(d["target"], d["name"]) for d in shown}

    @staticmethod
    def _columns(definitions: list[dict[str, Any]], taken: set[str]) -> dict[str, tuple[str, str]]:
        columns: dict[str, tuple[str, str]] = {}
        for definition in definitions:
            name, kind = definition["name"], _CUSTOM_TYPES[definition["type"]]
            column = f"attr.{name}" if name in taken else name
            if name in columns and columns[name][1] != kind:
                kind = "string"
            columns[name] = (column, kind)
        return columns

    def values(self, target: str, pairs: list[list[Any]], columns: dict[str, tuple[str, str]]) -> dict[str, Any]:
        return {columns[name][0]: _iso(value) for name, value in pairs
                if name in columns and (target, name) not in self.hidden}


# --- where analytics attributes come from ------------------------------------------------------------

@dataclass
class AnalyticsAttributes:
    """cluster_id, betweenness and articulation_point for each exported node, and where they came from.

    - `computed`: the analytics engine holds results for exactly this graph revision and scope (someone
      asked GET /v1/analytics/bridges or /clusters since the last change, or the export ran with
      `analytics=compute`); every node of the scope gets all three.
    - `stored`: no such result; for today's members-only graph the cluster id and betweenness last
      written back onto members are used (they may be of an earlier revision).
    - `unknown`: neither; the attribute is left out. Articulation points are never written back, so
      without a computed result they are unknown rather than guessed.
    """

    revision: int
    clusters: Any = None      # ClusterAnalysis for this revision and scope, or None
    bridges: Any = None       # BridgeAnalysis for this revision and scope, or None
    use_stored: bool = False

    def sources(self) -> dict[str, str]:
        stored = "stored" if self.use_stored else "unknown"
        return {"cluster_id": "computed" if self.clusters else stored,
                "betweenness": "computed" if self.bridges else stored,
                "articulation_point": "computed" if self.bridges else "unknown"}

    def describe(self) -> str:
        """As the `Netweave-Analytics` header and the document's metadata give it."""
        return "; ".join([*(f"{name}={source}" for name, source in self.sources().items()),
                          f"revision={self.revision}"])

    def of(self, party_id: str, stored_cluster: str | None = None,
           stored_betweenness: float | None = None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.clusters is not None:
            vertex = self.clusters.projection.index.get(party_id)
            if vertex is not None:
                values["cluster_id"] = self.clusters.ids[self.clusters.clustering.membership[vertex]]
        elif self.use_stored:
            values["cluster_id"] = stored_cluster
        if self.bridges is not None:
            vertex = self.bridges.projection.index.get(party_id)
            if vertex is not None:
                values["betweenness"] = float(self.bridges.betweenness.scores[vertex])
                values["articulation_point"] = vertex in self.bridges.articulation
        elif self.use_stored:
            values["betweenness"] = stored_betweenness
        return values


AnalyticsLookup = Callable[[int], AnalyticsAttributes]


class LayoutAttributes:
    """Each member's place in the whole network's layout (GET /v1/analytics/layout, as the explorer and the
    pictures draw it): `x`, `y` (0..1000, y growing upward as Gephi and Kumu's scatter layout read it),
    `size` (the pictures' dot radius, by degree), `color` (its cluster's, from the one palette) and
    `cluster_name`.

    The layout is read as last stored, never computed by an export: `netweave worker` recomputes it after
    writes, and GET /v1/analytics/layout computes it on demand. `source` says what the export carries:
    `current` (the layout of the exported revision), `earlier` (of an earlier revision: members added
    since have no place), `clusters` (the network is drawn as cluster bubbles, so members have no place of
    their own; colour and cluster name only when the layout served them) or `none` (no layout stored yet).
    Organizations are not placed."""

    def __init__(self, stored: tuple[int, dict] | None):
        self.revision = stored[0] if stored else None
        self._by_member: dict[str, dict[str, Any]] = {}
        self.members_view = bool(stored) and stored[1].get("view") == "members"
        if self.members_view:
            self._read(stored[1])

    def _read(self, report: dict) -> None:
        from service.exports import pictures

        members, clusters = report["members"], report["clusters"]
        extent, frame = float(report["extent"]), pictures.Frame(1000)
        top = max(members["degree"], default=0)
        for i, member_id in enumerate(members["id"]):
            c = members["cluster"][i]
            self._by_member[member_id] = {
                "cluster_name": clusters["name"][c], "x": float(members["x"][i]),
                "y": round(extent - float(members["y"][i]), 1),
                "size": round(frame.radius(members["degree"][i], top), 2), "color": clusters["colour"][c]}

    def source(self, revision: int | None) -> str:
        if self.revision is None:
            return "none"
        if not self.members_view:
            return "clusters"
        return "current" if revision is not None and self.revision >= revision else "earlier"

    def of(self, member_id: str) -> dict[str, Any]:
        return self._by_member.get(member_id, {})


# --- reading ---------------------------------------------------------------------------------------

class Export:
    """One export: a read transaction held open while its rows are written out.

    `open()` starts the transaction and reads the revision (so callers can set headers from it); iterate
    `chunks()` to stream the document; `close()` (also run when the iteration ends) releases the session.
    """

    def __init__(self, graph: db.Graph, selection: Selection, fmt: str, *, pii: bool,
                 analytics: AnalyticsLookup, layout: LayoutAttributes | None = None):
        self.graph, self.selection, self.format, self.pii = graph, selection, FORMATS[fmt], pii
        self._analytics_lookup = analytics
        self.layout = layout or LayoutAttributes(None)
        self.analytics: AnalyticsAttributes | None = None
        self.revision: int | None = None
        self.custom = CustomAttributes([], pii)
        self._session = self._tx = None

    def open(self) -> "Export":
        self.graph.ensure_bootstrapped()
        # graph.session: after the client's X-Neo4j-Bookmark; no transaction timeout (an export may stream for minutes)
        self._session = self.graph.session(default_access_mode=neo4j.READ_ACCESS, fetch_size=FETCH_SIZE)
        try:
            self._tx = self._session.begin_transaction()
            self.revision = self._tx.run(graph_queries.get("change_revision").text).single()["revision"]
            definitions = self._tx.run(graph_queries.get("attribute_definitions").text, {"target": None})
            self.custom = CustomAttributes([dict(row["definition"]) for row in definitions], self.pii)
            self.analytics = self._analytics_lookup(self.revision)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        tx, session, self._tx, self._session = self._tx, self._session, None, None
        try:
            if tx is not None:
                tx.close()
        finally:
            if session is not None:
                session.close()

    def counts(self) -> dict[str, int]:
        """How many members, organizations, collaborations and affiliations the export holds."""
        row = self._tx.run(graph_queries.get("export_counts").text, self.selection.params()).single()
        return dict(row.items())

    @property
    def node_attributes(self) -> list[tuple[str, str]]:
        return node_attributes(self.pii) + list(self.custom.nodes.values())

    @property
    def tie_attributes(self) -> list[tuple[str, str]]:
        return TIE_ATTRIBUTES + list(self.custom.ties.values())

    def _rows(self, name: str) -> Iterator[dict[str, Any]]:
        """Rows as dicts of the raw values: Record.data() converts every value recursively, which was the
        largest cost of an export; the few dates are converted where they are written (_iso)."""
        result = self._tx.run(graph_queries.get(name).text, {**self.selection.params(), "pii": self.pii})
        keys = result.keys()
        for record in result:
            yield dict(zip(keys, record))

    def nodes(self) -> Iterator[dict[str, Any]]:
        for row in self._rows("export_members"):
            yield self._member(row)
        for row in self._rows("export_organizations"):
            yield _clean({"id": row["id"], "type": "organization", "label": row["name"], "kind": row["kind"],
                          "region": row["region"], "topics": row["topics"], **self.analytics.of(row["id"]),
                          **self.custom.values("organization", row["attributes"], self.custom.nodes)})

    def _member(self, row: dict[str, Any]) -> dict[str, Any]:
        organizations = row["organizations"]
        return _clean({
            "id": row["id"], "type": "member", "label": row["name"], "email": row["email"] if self.pii else None,
            "role": row["role"], "title": row["title"], "region": row["region"], "topics": row["topics"],
            "populations": row["populations"], "discoverable": row["discoverable"],
            "organizations": [name for _, name in organizations],
            "organization_ids": [org_id for org_id, _ in organizations],
            **self.analytics.of(row["id"], row["cluster_id"], row["betweenness"]),
            **self.layout.of(row["id"]),
            **self.custom.values("member", row["attributes"], self.custom.nodes),
        })

    def ties(self) -> Iterator[dict[str, Any]]:
        for row in self._rows("export_collaborations"):
            source = row["source"]
            for (tie_id, target, kind, strength, trust, value, reciprocated, started_on, ended_on, source_system,
                 note, attributes) in row["ties"]:
                yield _clean({"id": tie_id, "source": source, "target": target, "tie": "collaboration",
                              "kind": kind, "strength": strength, "trust": trust, "value": value,
                              "reciprocated": reciprocated, "weight": float(strength), "started_on": _iso(started_on),
                              "ended_on": _iso(ended_on), "source_system": source_system, "note": note,
                              **self.custom.values("collaboration", attributes, self.custom.ties)})
        for row in self._rows("export_affiliations"):
            yield _clean({"id": f"{row['source']}/{row['target']}", "source": row["source"],
                          "target": row["target"], "tie": "affiliation", "weight": 1.0, "role": row["role"],
                          "since": _iso(row["since"]), "until": _iso(row["until"])})

    def layout_description(self) -> str:
        """As the `Netweave-Layout` header gives it: where x, y, size, color and cluster_name came from."""
        return f"source={self.layout.source(self.revision)}; revision={self.layout.revision}"

    def filename(self) -> str:
        return f"netweave-{self.selection.as_of.isoformat()}.{self.format.extension}"

    def chunks(self, on_item: Callable[[], None] = lambda: None) -> Iterator[bytes]:
        """The document, in chunks of about CHUNK_BYTES; `on_item` is called after each node and tie."""
        try:
            writer = WRITERS[self.format.name](self)
            yield from _coalesce(writer.write(_counted(self.nodes(), on_item), _counted(self.ties(), on_item)))
        finally:
            self.close()

    def head(self) -> dict[str, Any]:
        """What the response's headers say of the export (its media type, file name and sources)."""
        return {"media_type": self.format.media_type, "filename": self.filename(),
                "analytics": self.analytics.describe(), "layout": self.layout_description()}

    def metadata(self) -> dict[str, Any]:
        return {"generator": "netweave", "as_of": self.selection.as_of.isoformat(),
                "include": ["organizations"] if self.selection.organizations else [],
                "filters": {"organization_id": self.selection.organization_id, "region": self.selection.region,
                            "role": self.selection.role},
                "revision": self.revision, "analytics": self.analytics.sources(),
                "layout": {"source": self.layout.source(self.revision), "revision": self.layout.revision},
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def _counted(items: Iterable[dict], on_item: Callable[[], None]) -> Iterator[dict]:
    for item in items:
        yield item
        on_item()


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    """Drop absent values (None, empty lists): a missing attribute, not an empty one."""
    return {key: value for key, value in record.items() if value is not None and value != []}


def _iso(value: Any) -> str | None:
    """A date (Python's or the driver's) as YYYY-MM-DD."""
    return value.iso_format() if isinstance(value, neo4j.time.Date) else \
        value.isoformat() if isinstance(value, (date, datetime)) else value


def _rgb(colour: str) -> tuple[int, int, int]:
    """"#rrggbb" as its three channels."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _coalesce(parts: Iterable[str | bytes]) -> Iterator[bytes]:
    """Join small pieces into chunks of about CHUNK_BYTES (one write per row would be slow to send)."""
    buffer, size = [], 0
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        if not data:
            continue
        buffer.append(data)
        size += len(data)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)


# --- writers: write(nodes, ties) yields the document's text in pieces ----------------------------------

def _xml_value(value: Any) -> str:
    """A value as XML text before escaping: lists joined, booleans as xsd booleans, forbidden characters dropped."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return str(value)
    if kind is list:
        value = LIST_SEPARATOR.join(str(item) for item in value)
    return xml_chars(str(value))


class GraphMLWriter:
    """GraphML 1.0 (Gephi reads `label` and the edge `weight`), one undirected graph."""

    def __init__(self, export: Export):
        self.export = export
        self.node_keys = {name: f"n{i}" for i, (name, _) in enumerate(export.node_attributes)}
        self.tie_keys = {name: f"e{i}" for i, (name, _) in enumerate(export.tie_attributes)}

    def write(self, nodes: Iterable[dict], ties: Iterable[dict]) -> Iterator[str]:
        yield ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
               'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
        for name, kind in self.export.node_attributes:
            yield f'  <key id="{self.node_keys[name]}" for="node" attr.name={xml_attribute(name)} attr.type="{kind}"/>\n'
        for name, kind in self.export.tie_attributes:
            yield f'  <key id="{self.tie_keys[name]}" for="edge" attr.name={xml_attribute(name)} attr.type="{kind}"/>\n'
        for channel in "rgb":     # the colour as Gephi's GraphML import reads it, beside `color`
            yield f'  <key id="n_{channel}" for="node" attr.name="{channel}" attr.type="int"/>\n'
        metadata = self.export.metadata()
        for name in metadata:
            yield f'  <key id="g_{name}" for="graph" attr.name="{name}" attr.type="string"/>\n'
        yield '  <graph id="netweave" edgedefault="undirected">\n'
        for name, value in metadata.items():
            text = value if isinstance(value, str) else json.dumps(value)
            yield f'    <data key="g_{name}">{xml_text(_xml_value(text))}</data>\n'
        for node in nodes:
            yield (f'    <node id={xml_attribute(node["id"])}>{self._data(node, self.node_keys)}'
                   f'{self._rgb(node)}</node>\n')
        for tie in ties:
            yield (f'    <edge id={xml_attribute(tie["id"])} source={xml_attribute(tie["source"])} '
                   f'target={xml_attribute(tie["target"])}>{self._data(tie, self.tie_keys)}</edge>\n')
        yield '  </graph>\n</graphml>\n'

    @staticmethod
    def _data(record: dict, keys: dict[str, str]) -> str:
        return "".join(f'<data key="{keys[name]}">{xml_text(_xml_value(value))}</data>'
                       for name, value in record.items() if name in keys)

    @staticmethod
    def _rgb(node: dict) -> str:
        if "color" not in node:
            return ""
        return "".join(f'<data key="n_{channel}">{value}</data>' for channel, value in zip("rgb", _rgb(node["color"])))


class GexfWriter:
    """GEXF 1.2 (Gephi's own format; 1.2 rather than 1.3 because every Gephi release reads it): node labels,
    edge weights and labels, typed attributes."""

    TYPES = {"string": "string", "boolean": "boolean", "double": "double", "int": "integer", "long": "long"}

    def __init__(self, export: Export):
        self.export = export
        self.node_ids = {name: str(i) for i, (name, _) in enumerate(export.node_attributes)
                         if name != "label" and name not in LAYOUT_ATTRIBUTES}
        self.tie_ids = {name: str(i) for i, (name, _) in enumerate(export.tie_attributes) if name != "weight"}

    def write(self, nodes: Iterable[dict], ties: Iterable[dict]) -> Iterator[str]:
        metadata = self.export.metadata()
        yield ('<?xml version="1.0" encoding="UTF-8"?>\n'
               '<gexf xmlns="http://www.gexf.net/1.2draft" xmlns:viz="http://www.gexf.net/1.2draft/viz" '
               'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
               'xsi:schemaLocation="http://www.gexf.net/1.2draft http://www.gexf.net/1.2draft/gexf.xsd" '
               'version="1.2">\n'
               f'  <meta lastmodifieddate="{metadata["exported_at"][:10]}"><creator>netweave</creator>'
               f'<description>{xml_text(json.dumps(metadata))}</description></meta>\n'
               '  <graph defaultedgetype="undirected" mode="static">\n')
        yield from self._declare("node", self.export.node_attributes, self.node_ids)
        yield from self._declare("edge", self.export.tie_attributes, self.tie_ids)
        yield '    <nodes>\n'
        for node in nodes:
            label = xml_attribute(_xml_value(node.get("label", "")))
            yield (f'      <node id={xml_attribute(node["id"])} label={label}>{self._values(node, self.node_ids)}'
                   f'{self._viz(node)}</node>\n')
        yield '    </nodes>\n    <edges>\n'
        for tie in ties:
            label = tie.get("kind", tie["tie"])
            yield (f'      <edge id={xml_attribute(tie["id"])} source={xml_attribute(tie["source"])} '
                   f'target={xml_attribute(tie["target"])} weight="{tie["weight"]!r}" '
                   f'label={xml_attribute(label)}>'
                   f'{self._values(tie, self.tie_ids)}</edge>\n')
        yield '    </edges>\n  </graph>\n</gexf>\n'

    def _declare(self, kind: str, attributes: list[tuple[str, str]], ids: dict[str, str]) -> Iterator[str]:
        yield f'    <attributes class="{kind}">\n'
        for name, attr_type in attributes:
            if name in ids:
                yield f'      <attribute id="{ids[name]}" title="{name}" type="{self.TYPES[attr_type]}"/>\n'
        yield '    </attributes>\n'

    @staticmethod
    def _viz(node: dict) -> str:
        """The member's colour, place and size as Gephi draws them (viz:color, viz:position, viz:size)."""
        parts = []
        if "color" in node:
            r, g, b = _rgb(node["color"])
            parts.append(f'<viz:color r="{r}" g="{g}" b="{b}"/>')
        if "x" in node:
            parts.append(f'<viz:position x="{node["x"]!r}" y="{node["y"]!r}" z="0.0"/>')
        if "size" in node:
            parts.append(f'<viz:size value="{node["size"]!r}"/>')
        return "".join(parts)

    @staticmethod
    def _values(record: dict, ids: dict[str, str]) -> str:
        values = "".join(f'<attvalue for="{ids[name]}" value={xml_attribute(_xml_value(value))}/>'
                         for name, value in record.items() if name in ids)
        return f"<attvalues>{values}</attvalues>" if values else ""


class KumuWriter:
    """Kumu's JSON blueprint: {"elements": [...], "connections": [...]}; elements by id with label and type,
    connections from/to element ids with type (collaboration or affiliation) and direction."""

    def __init__(self, export: Export):
        self.export = export

    def write(self, nodes: Iterable[dict], ties: Iterable[dict]) -> Iterator[str]:
        yield '{"elements": ['
        for i, node in enumerate(nodes):
            yield ("," if i else "") + "\n" + json.dumps(node, ensure_ascii=False)
        yield '\n], "connections": ['
        for i, tie in enumerate(ties):
            connection = {"id": tie["id"], "from": tie["source"], "to": tie["target"], "type": tie["tie"],
                          "direction": "undirected" if tie["tie"] == "collaboration" else "directed",
                          **{k: v for k, v in tie.items() if k not in ("id", "source", "target", "tie")}}
            yield ("," if i else "") + "\n" + json.dumps(connection, ensure_ascii=False)
        yield "\n]}\n"


class _Sink(io.RawIOBase):
    """An unseekable file that keeps what zipfile writes until it is taken."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


class CsvZipWriter:
    """A zip of nodes.csv and ties.csv (UTF-8, header row, lists joined by '; '), streamed: column names
    Gephi's spreadsheet import recognises (id, label; source, target, weight)."""

    def __init__(self, export: Export):
        self.export = export

    def write(self, nodes: Iterable[dict], ties: Iterable[dict]) -> Iterator[bytes]:
        sink = _Sink()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, columns, rows in (
                    ("nodes.csv", ["id"] + [name for name, _ in self.export.node_attributes], nodes),
                    ("ties.csv", ["id", "source", "target"] + [name for name, _ in self.export.tie_attributes], ties)):
                info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(info, "w", force_zip64=True) as entry:
                    text = io.TextIOWrapper(entry, encoding="utf-8", newline="")
                    writer = csv.DictWriter(text, fieldnames=columns)
                    writer.writeheader()
                    for row in rows:
                        writer.writerow({key: _csv_value(value) for key, value in row.items()})
                        yield sink.take()
                    text.flush()
                    text.detach()
                yield sink.take()
            archive.writestr("export.json", json.dumps(self.export.metadata(), indent=2) + "\n")
        yield sink.take()


_FORMULA_START = ("=", "+", "@", "\t", "\r")


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        # A spreadsheet would run "=HYPERLINK(...)" typed into a name or note: quote it as text (OWASP's
        # advice on CSV injection). "-" is left alone: it starts ordinary text and negative numbers.
        return "'" + value
    return value


WRITERS = {"graphml": GraphMLWriter, "gexf": GexfWriter, "json": KumuWriter, "csv": CsvZipWriter}


# --- starting an export ----------------------------------------------------------------------------

def start(graph: db.Graph, selection: Selection, fmt: str, *, pii: bool, compute: bool = False) -> Export:
    """An opened export. With `compute`, the analytics of the selection's scope are computed first (see
    `compute_analytics`); the analytics columns come from what the process's engine holds."""
    if compute:
        compute_analytics(graph, selection)
    return open_export(graph, selection, fmt, pii=pii)


def compute_analytics(graph: db.Graph, selection: Selection) -> None:
    """Has the analytics of the selection's scope computed, as GET /v1/analytics/bridges would (so Pending
    may be raised when they outlast the wait)."""
    from service.repositories import analytics

    include = ["organizations"] if selection.organizations else []
    analytics.bridges(graph, as_of=selection.as_of, include=include, limit=1, source=selection.source)


def open_export(graph: db.Graph, selection: Selection, fmt: str, *, pii: bool, engine: Any = None,
                compute: bool = False) -> Export:
    """An opened export whose analytics columns come from what `engine` holds at its revision; with
    `compute`, from what it holds or computes then (in the calling thread: for `netweave worker`, which
    holds the projections)."""
    from service.analytics.engine import get_engine
    from service.repositories import analytics
    from service.repositories.layout import stored_layout

    include = ["organizations"] if selection.organizations else []
    held = analytics.held_analyses(engine or get_engine(graph),
                                   analytics.Scope.of(selection.as_of, include, source=selection.source),
                                   graph=graph if compute else None)

    def lookup(revision: int) -> AnalyticsAttributes:
        clusters, bridges, use_stored = held(revision)
        return AnalyticsAttributes(revision, clusters=clusters, bridges=bridges, use_stored=use_stored)

    layout = LayoutAttributes(stored_layout(graph, selection.as_of))
    return Export(graph, selection, fmt, pii=pii, analytics=lookup, layout=layout).open()


# --- an export as a job for `netweave worker` (service/exports/relay.py) -----------------------------------

def job(selection: Selection, fmt: str, *, pii: bool, compute: bool, bookmarks: list[str]) -> dict[str, Any]:
    """What a worker needs to write the export the request asked for: the selection, the format, whether
    the caller sees personal data, whether to compute the analytics, and the bookmarks the request's reads
    start after."""
    fields = {**selection.__dict__, "as_of": selection.as_of.isoformat()}
    return {"selection": fields, "format": fmt, "pii": pii, "compute": compute, "bookmarks": bookmarks}


def selection_of(job: dict[str, Any]) -> Selection:
    fields = job["selection"]
    return Selection(**{**fields, "as_of": date.fromisoformat(fields["as_of"])})


__all__ = ["Export", "Selection", "start", "compute_analytics", "open_export", "job", "selection_of", "AnalyticsAttributes", "LayoutAttributes", "LAYOUT_ATTRIBUTES", "FORMATS", "NODE_ATTRIBUTES", "TIE_ATTRIBUTES",
           "node_attributes", "LIST_SEPARATOR"]
