"""GET /v1/export: GraphML and GEXF that networkx (and so Gephi) reads back with every node, tie and
attribute; Kumu's JSON blueprint; the CSV zip; personal data only with `pii`; the analytics filters;
where analytics attributes come from; streaming."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import networkx as nx
import pytest

from service import exports
from service.analytics.engine import get_engine
from tests.conftest import run_test_query
from tests.support import finish_pending_run

SEP = exports.LIST_SEPARATOR


@pytest.fixture
def engine(app):
    engine = get_engine(app)
    engine.clear()
    settings = engine.settings
    yield engine
    engine.wait_idle(timeout=60)
    engine.settings = settings
    engine.clear()


@pytest.fixture
def network(api, new_member, new_organization, new_collaboration):
    """Six members (one unaffiliated, one only affiliated in the past), two organizations, parallel ties,
    an ended tie, a tie to an organization; emails on two members."""
    north, south = new_organization("North Network", kind="network", region="north", topics=["literacy"]), \
        new_organization("South District", kind="district", region="south")
    ann = new_member("Ann Reyes", email="ann@example.org", region="north", role="teacher",
                     topics=["literacy", "math"], populations=["ell"], title="Lead teacher")
    bob = new_member("Bob Chen", email="bob@example.org", region="north", role="coach")
    cat = new_member("Cat Diaz", region="south", role="teacher", discoverable=False)
    dan = new_member("Dan Ode", region="south", role="principal")
    eve = new_member("Eve Park", role="coach")
    fay = new_member("Fay Lund", region="north", role="teacher")
    for member, org, body in ((ann, north, {"role": "staff", "since": "2020-01-01"}), (bob, north, {}),
                              (cat, south, {}), (dan, south, {}), (dan, north, {}),
                              (fay, north, {"until": "2021-12-31"})):
        assert api.put(f"/v1/members/{member['id']}/affiliations/{org['id']}", json=body).status_code == 201
    ties = [new_collaboration(ann, bob, strength=4, note='co-taught <units> & "more"'),
            new_collaboration(bob, ann, kind="mentoring", strength=2, started_on="2023-01-01"),
            new_collaboration(ann, cat, started_on="2022-05-01"),
            new_collaboration(cat, dan, kind="event", strength=1),
            new_collaboration(dan, eve),
            new_collaboration(eve, fay, ended_on="2020-06-30"),
            new_collaboration(bob, south, kind="partnership", strength=5)]
    return {"orgs": {"north": north, "south": south},
            "members": {m["name"]: m for m in (ann, bob, cat, dan, eve, fay)}, "ties": ties}


def _export(api, **query):
    response = api.get("/v1/export", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


def _members(api) -> dict[str, dict]:
    items = api.get("/v1/members?limit=100").get_json()["items"]
    return {member["id"]: member for member in items}


def _expected_ties(api, *, as_of: str | None = None, parties: set[str]) -> dict[str, dict]:
    query = {"limit": 100, **({"active_on": as_of} if as_of else {})}
    if as_of is None:
        from datetime import date
        query["active_on"] = date.today().isoformat()
    items = api.get("/v1/collaborations", query_string=query).get_json()["items"]
    return {tie["id"]: tie for tie in items if {tie["source_id"], tie["target_id"]} <= parties}


def _read(fmt: str, body: bytes) -> nx.Graph:
    reader = nx.read_graphml if fmt == "graphml" else nx.read_gexf
    graph = reader(io.BytesIO(body))
    return graph


def _edges_by_id(graph: nx.Graph) -> dict[str, tuple[str, str, dict]]:
    edges = graph.edges(keys=True, data=True) if graph.is_multigraph() else \
        ((u, v, data.get("id"), data) for u, v, data in graph.edges(data=True))
    return {data.get("id", key): (u, v, data) for u, v, key, data in edges}


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_gephi_formats_load_in_networkx_with_every_node_tie_and_attribute(api, network, fmt):
    response = _export(api, format=fmt)
    assert response.mimetype == exports.FORMATS[fmt].media_type
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="netweave-')
    assert response.headers["Content-Disposition"].endswith(f'.{fmt}"')
    graph = _read(fmt, response.get_data())
    assert not graph.is_directed()

    members = _members(api)
    assert set(graph.nodes) == set(members), "every member, and only members without include"
    for member_id, member in members.items():
        node = graph.nodes[member_id]
        assert node["label"] == member["name"] and node["type"] == "member"
        assert node.get("email") == member.get("email")
        assert node.get("region") == member["region"] and node.get("role") == member["role"]
        assert node.get("title") == member["title"]
        assert node.get("topics", "") == SEP.join(member["topics"])
        assert node.get("populations", "") == SEP.join(member["populations"])
        assert node["discoverable"] is member["discoverable"]
    ann = graph.nodes[network["members"]["Ann Reyes"]["id"]]
    assert ann["organizations"] == "North Network"
    assert ann["organization_ids"] == network["orgs"]["north"]["id"]
    assert "organizations" not in graph.nodes[network["members"]["Fay Lund"]["id"]], "affiliation ended"

    expected = _expected_ties(api, parties=set(members))
    edges = _edges_by_id(graph)
    assert set(edges) == set(expected), "active member-member ties, parallel ones kept apart"
    assert graph.is_multigraph(), "Ann and Bob have two collaborations"
    for tie_id, tie in expected.items():
        u, v, data = edges[tie_id]
        assert {u, v} == {tie["source_id"], tie["target_id"]}
        assert data["tie"] == "collaboration" and data["kind"] == tie["kind"]
        assert data["strength"] == tie["strength"] and data["weight"] == float(tie["strength"])
        assert data.get("started_on") == tie["started_on"] and data.get("note") == tie["note"]
        assert data["source_system"] == tie["source"]


def test_include_organizations_adds_them_and_their_affiliations(api, network):
    graph = _read("graphml", _export(api, format="graphml", include="organizations").get_data())
    north, south = network["orgs"]["north"], network["orgs"]["south"]
    assert graph.nodes[north["id"]].items() >= {"type": "organization", "label": "North Network", "kind": "network",
                                                "region": "north", "topics": "literacy"}.items()
    assert graph.nodes[south["id"]]["kind"] == "district"
    edges = _edges_by_id(graph)
    affiliations = {(u, v) if u in _members(api) else (v, u): data for u, v, data in edges.values()
                    if data["tie"] == "affiliation"}
    ann, fay = network["members"]["Ann Reyes"], network["members"]["Fay Lund"]
    assert len(affiliations) == 5, "Fay's affiliation ended"
    assert affiliations[(ann["id"], north["id"])].items() >= {"role": "staff", "since": "2020-01-01",
                                                              "weight": 1.0}.items()
    assert (fay["id"], north["id"]) not in affiliations
    partnership = [data for _, _, data in edges.values() if data.get("kind") == "partnership"]
    assert len(partnership) == 1 and partnership[0]["strength"] == 5


def test_kumu_json_has_elements_and_connections_by_id(api, network):
    response = _export(api, format="json", include="organizations")
    assert response.mimetype == "application/json"
    blueprint = json.loads(response.get_data())
    assert set(blueprint) == {"elements", "connections"}
    elements = {element["id"]: element for element in blueprint["elements"]}
    members = _members(api)
    assert set(elements) == set(members) | {org["id"] for org in network["orgs"].values()}
    for member_id, member in members.items():
        assert elements[member_id]["label"] == member["name"] and elements[member_id]["type"] == "member"
        assert elements[member_id].get("topics", []) == member["topics"]
    assert elements[network["orgs"]["north"]["id"]]["type"] == "organization"
    connections = blueprint["connections"]
    assert all(c["from"] in elements and c["to"] in elements for c in connections)
    collaborations = {c["id"]: c for c in connections if c["type"] == "collaboration"}
    assert set(collaborations) == set(_expected_ties(api, parties=set(elements)))
    assert all(c["direction"] == "undirected" for c in collaborations.values())
    assert sum(c["type"] == "affiliation" and c["direction"] == "directed" for c in connections) == 5


def test_csv_zip_round_trips_nodes_and_ties(api, network):
    response = _export(api, format="csv", include="organizations")
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].endswith('.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    assert set(archive.namelist()) == {"nodes.csv", "ties.csv", "export.json"}
    nodes = {row["id"]: row for row in csv.DictReader(io.TextIOWrapper(archive.open("nodes.csv"), "utf-8"))}
    ties = {row["id"]: row for row in csv.DictReader(io.TextIOWrapper(archive.open("ties.csv"), "utf-8"))}

    blueprint = json.loads(_export(api, format="json", include="organizations").get_data())
    assert set(nodes) == {element["id"] for element in blueprint["elements"]}
    for element in blueprint["elements"]:
        row = nodes[element["id"]]
        for name, value in element.items():
            text = SEP.join(value) if isinstance(value, list) else str(value).lower() \
                if isinstance(value, bool) else str(value)
            assert row[name] == text, name
    assert set(ties) == {connection["id"] for connection in blueprint["connections"]}
    ann_bob = [row for row in ties.values() if row["note"]]
    assert ann_bob[0]["note"] == 'co-taught <units> & "more"' and ann_bob[0]["strength"] == "4"
    metadata = json.loads(archive.read("export.json"))
    assert metadata["include"] == ["organizations"] and isinstance(metadata["revision"], int)


def test_csv_quotes_text_a_spreadsheet_would_run_as_a_formula(api, new_member):
    new_member("=HYPERLINK(\"http://example.org\")", title="+1 trick", region="-north")
    archive = zipfile.ZipFile(io.BytesIO(_export(api, format="csv").get_data()))
    row = next(csv.DictReader(io.TextIOWrapper(archive.open("nodes.csv"), "utf-8")))
    assert row["label"] == "'=HYPERLINK(\"http://example.org\")" and row["title"] == "'+1 trick"
    assert row["region"] == "-north"


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json", "csv"])
def test_email_only_with_the_pii_scope(api, make_key, network, fmt):
    def text(key: str) -> str:
        body = api.with_key(key).get("/v1/export", query_string={"format": fmt}).get_data()
        if fmt == "csv":
            archive = zipfile.ZipFile(io.BytesIO(body))
            return "".join(archive.read(name).decode() for name in archive.namelist())
        return body.decode()

    without, with_pii = text(make_key("analytics")), text(make_key("analytics", "pii"))
    assert "ann@example.org" not in without and "email" not in without
    assert "ann@example.org" in with_pii and "bob@example.org" in with_pii
    assert "Ann Reyes" in without


def test_filters_select_members_and_the_ties_between_them(api, network):
    north = network["orgs"]["north"]
    graph = _read("graphml", _export(api, format="graphml", region="north").get_data())
    names = {data["label"] for _, data in graph.nodes(data=True)}
    assert names == {"Ann Reyes", "Bob Chen", "Fay Lund"}
    assert {data["kind"] for _, _, data in graph.edges(data=True)} == {"project", "mentoring"}

    by_org = _read("graphml", _export(api, format="graphml", organization_id=north["id"],
                                      include="organizations").get_data())
    assert {data["label"] for _, data in by_org.nodes(data=True)} == \
        {"Ann Reyes", "Bob Chen", "Dan Ode", "North Network", "South District"}, \
        "members of North now (not Fay) and the organizations they belong to"

    teachers = _read("gexf", _export(api, format="gexf", role="teacher").get_data())
    assert {data["label"] for _, data in teachers.nodes(data=True)} == {"Ann Reyes", "Cat Diaz", "Fay Lund"}
    assert teachers.number_of_edges() == 1


def test_as_of_keeps_the_ties_active_then(api, network):
    graph = _read("graphml", _export(api, format="graphml", as_of="2020-06-30").get_data())
    kinds = sorted(data["kind"] for _, _, data in graph.edges(data=True))
    assert kinds == ["event", "project", "project", "project"], "mentoring and Ann-Cat not begun, Eve-Fay last day"
    fay = graph.nodes[network["members"]["Fay Lund"]["id"]]
    assert fay["organizations"] == "North Network", "Fay's affiliation was active then"
    assert "filename=\"netweave-2020-06-30.graphml\"" in _export(api, format="graphml",
                                                                as_of="2020-06-30").headers["Content-Disposition"]


def test_analytics_absent_then_computed_for_this_revision(api, network, engine):
    before = _export(api, format="graphml")
    assert before.headers["Netweave-Analytics"].startswith(
        "cluster_id=stored; betweenness=stored; articulation_point=unknown")
    graph = _read("graphml", before.get_data())
    assert not any(name in data for _, data in graph.nodes(data=True)
                   for name in ("cluster_id", "betweenness", "articulation_point")), "nothing written back yet"

    bridges = api.get("/v1/analytics/bridges?limit=100&min_cut_off=0").get_json()
    after = _export(api, format="graphml")
    assert after.headers["Netweave-Analytics"].startswith(
        "cluster_id=computed; betweenness=computed; articulation_point=computed")
    graph = _read("graphml", after.get_data())
    articulation = {point["member"]["id"] for point in bridges["articulation_points"]}
    assert articulation, "Cat and Dan cut off parts of this network"
    assert {node for node, data in graph.nodes(data=True) if data["articulation_point"]} == articulation
    brokers = {broker["member"]["id"]: broker["betweenness"] for broker in bridges["brokers"]}
    for node, data in graph.nodes(data=True):
        assert data["betweenness"] == pytest.approx(brokers.get(node, 0.0))

    clusters = api.get("/v1/analytics/clusters").get_json()["clusters"]
    for cluster in clusters:
        listed = api.get(f"/v1/analytics/clusters/{cluster['id']}?limit=100").get_json()["items"]
        assert {graph.nodes[member["id"]]["cluster_id"] for member in listed} == {cluster["id"]}


def test_analytics_compute_computes_them_for_the_export(api, network, engine):
    response = _export(api, format="json", analytics="compute", include="organizations")
    assert response.headers["Netweave-Analytics"].startswith("cluster_id=computed; betweenness=computed")
    elements = json.loads(response.get_data())["elements"]
    assert all("cluster_id" in e and "betweenness" in e and "articulation_point" in e for e in elements), \
        "organizations are vertices of this scope, so they get analytics too"


def test_analytics_compute_that_outlasts_the_wait_is_202_with_a_run(api, network, engine):
    import dataclasses

    engine.settings = dataclasses.replace(engine.settings, sync_seconds=0.0)
    finish_pending_run(api, engine, api.get("/v1/export?format=graphml&analytics=compute"))
    done = _export(api, format="graphml", analytics="compute")
    assert done.headers["Netweave-Analytics"].startswith("cluster_id=computed; betweenness=computed")


def test_analytics_stored_on_members_when_the_engine_has_none(api, network, engine):
    api.get("/v1/analytics/bridges")
    engine.wait_idle(timeout=60)      # the write-back of cluster ids and betweenness
    engine.clear()
    response = _export(api, format="gexf")
    assert response.headers["Netweave-Analytics"].startswith(
        "cluster_id=stored; betweenness=stored; articulation_point=unknown")
    graph = _read("gexf", response.get_data())
    for member_id, member in _members(api).items():
        assert graph.nodes[member_id]["cluster_id"] == member["cluster_id"]
        assert graph.nodes[member_id]["betweenness"] == pytest.approx(member["betweenness"])
        assert "articulation_point" not in graph.nodes[member_id]
    past = _export(api, format="gexf", as_of="2021-01-01")
    assert "cluster_id=unknown" in past.headers["Netweave-Analytics"], "stored values describe today's graph"


def test_export_streams_in_chunks(api, network, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_BYTES", 512)
    response = api.get("/v1/export?format=gexf", buffered=False)
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) > 3 and all(len(chunk) < 4096 for chunk in chunks)
    response.close()
    assert _read("gexf", b"".join(chunks)).number_of_nodes() == 6


@pytest.mark.parametrize("query, field", [({}, "format"), ({"format": "pdf"}, "format"),
                                          ({"format": "json", "as_of": "someday"}, "as_of"),
                                          ({"format": "json", "role": " "}, "role"),
                                          ({"format": "json", "include": "everything"}, "include"),
                                          ({"format": "json", "analytics": "fresh"}, "analytics"),
                                          ({"format": "json", "organization_id": "x"}, "organization_id"),
                                          ({"format": "json", "colour": "red"}, "colour")])
def test_invalid_arguments_are_422_naming_the_field(api, query, field):
    response = api.get("/v1/export", query_string=query)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert field in [error["field"] for error in response.get_json()["errors"]]


def test_export_memory_stays_flat_while_the_document_grows(app, graph):
    """Python's peak allocation while streaming is a small fraction of the document (rows are fetched in
    batches and written out; the document is never assembled)."""
    import tracemalloc

    from tests.conftest import run_test_query

    members, per = 2000, 3
    run_test_query(graph, "test_bulk_members", prefix="bulk", count=members)
    run_test_query(graph, "test_bulk_ties", prefix="bulk", count=members, per=per)
    selection = exports.Selection(as_of=__import__("datetime").date.today())
    with app.app_context():
        export = exports.start(graph, selection, "graphml", pii=False)
        tracemalloc.start()
        try:
            size = sum(len(chunk) for chunk in export.chunks())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    print(f"graphml export of {members} members, {members * per} ties: {size} bytes, peak {peak} bytes traced")
    assert size > 1_500_000, size
    assert peak < size / 4, (peak, size)


@pytest.fixture
def custom_fields(api, network):
    """The network's own fields, one of them personal, with values on a member, an organization and a tie."""
    for target, name, body in [("member", "grade_band", {"type": "enum", "values": ["elementary", "middle"]}),
                               ("member", "years_in_role", {"type": "integer"}),
                               ("member", "role", {"type": "string"}),  # shares a built-in attribute's name
                               ("member", "home_phone", {"type": "string", "pii": True}),
                               ("organization", "school_level", {"type": "string"}),
                               ("collaboration", "hours", {"type": "number"})]:
        assert api.put(f"/v1/attributes/{target}/{name}", json=body).status_code == 201
    ann, north, tie = network["members"]["Ann Reyes"], network["orgs"]["north"], network["ties"][0]
    for path, values in [(f"/v1/members/{ann['id']}", {"grade_band": "middle", "years_in_role": 7, "role": "lead",
                                                       "home_phone": "555-0100"}),
                         (f"/v1/organizations/{north['id']}", {"school_level": "secondary"}),
                         (f"/v1/collaborations/{tie['id']}", {"hours": 12.5})]:
        assert api.patch(path, json={"attributes": values}, headers={"If-Match": "*"}).status_code == 200
    return ann, north, tie


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_gephi_formats_carry_custom_attributes_typed(api, make_key, custom_fields, fmt):
    ann, north, tie = custom_fields
    graph = _read(fmt, _export(api.with_key(make_key("analytics")), format=fmt, include="organizations").get_data())
    assert graph.nodes[ann["id"]]["grade_band"] == "middle"
    assert graph.nodes[ann["id"]]["years_in_role"] == 7
    assert graph.nodes[ann["id"]]["attr.role"] == "lead" and graph.nodes[ann["id"]]["role"] == ann["role"]
    assert "home_phone" not in graph.nodes[ann["id"]]
    assert graph.nodes[north["id"]]["school_level"] == "secondary"
    assert _edges_by_id(graph)[tie["id"]][2]["hours"] == 12.5
    with_pii = _read(fmt, _export(api.with_key(make_key("analytics", "pii")), format=fmt).get_data())
    assert with_pii.nodes[ann["id"]]["home_phone"] == "555-0100"


def test_kumu_and_csv_carry_custom_attributes(api, make_key, custom_fields):
    ann, north, tie = custom_fields
    reader = api.with_key(make_key("analytics"))
    kumu = json.loads(_export(reader, format="json").get_data())
    element = next(e for e in kumu["elements"] if e["id"] == ann["id"])
    assert (element["grade_band"], element["years_in_role"]) == ("middle", 7) and "home_phone" not in element
    assert next(c for c in kumu["connections"] if c["id"] == tie["id"])["hours"] == 12.5
    archive = zipfile.ZipFile(io.BytesIO(_export(reader, format="csv", include="organizations").get_data()))
    nodes = {row["id"]: row for row in csv.DictReader(io.StringIO(archive.read("nodes.csv").decode()))}
    assert (nodes[ann["id"]]["grade_band"], nodes[ann["id"]]["years_in_role"]) == ("middle", "7")
    assert nodes[north["id"]]["school_level"] == "secondary" and "home_phone" not in nodes[ann["id"]]
    ties = {row["id"]: row for row in csv.DictReader(io.StringIO(archive.read("ties.csv").decode()))}
    assert ties[tie["id"]]["hours"] == "12.5"


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_text_xml_forbids_is_left_out_so_the_document_stays_well_formed(api, graph, network, fmt):
    """Names are checked at input now; text stored before (or written by other means) may still hold a NUL,
    a vertical tab or an ESC, and one of them made the whole document unreadable."""
    ann, north, tie = network["members"]["Ann Reyes"], network["orgs"]["north"], network["ties"][0]
    for some_id in (ann["id"], north["id"], tie["id"]):
        run_test_query(graph, "test_set_raw_text", id=some_id, text="Ctl\x0bVt \x00\x01\x1b\ufffeend\tok")
    exported = _read(fmt, _export(api, format=fmt, include="organizations").get_data())
    assert exported.nodes[ann["id"]]["label"] == exported.nodes[north["id"]]["label"] == "CtlVt end\tok"
    assert _edges_by_id(exported)[tie["id"]][2]["note"] == "CtlVt end\tok"


def _layout_attributes(fmt: str, body: bytes) -> dict[str, dict]:
    """Each member's x, y, size, color and cluster_name as the format carries them (GEXF: its viz elements)."""
    if fmt in ("graphml", "gexf"):
        found = {}
        for node, data in _read(fmt, body).nodes(data=True):
            if fmt == "gexf" and "viz" in data:
                viz = data["viz"]
                data = {**data, "x": viz["position"]["x"], "y": viz["position"]["y"], "size": viz["size"],
                        "color": "#{:02x}{:02x}{:02x}".format(viz["color"]["r"], viz["color"]["g"], viz["color"]["b"])}
            elif fmt == "graphml" and "color" in data:
                assert "#{:02x}{:02x}{:02x}".format(data["r"], data["g"], data["b"]) == data["color"]
            found[node] = data
        return found
    if fmt == "json":
        return {element["id"]: element for element in json.loads(body)["elements"]}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        rows = csv.DictReader(io.TextIOWrapper(archive.open("nodes.csv"), encoding="utf-8"))
        return {row["id"]: {key: (float(value) if key in ("x", "y", "size") else value)
                            for key, value in row.items() if value != ""} for row in rows}


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json", "csv"])
def test_exports_carry_each_members_place_colour_and_cluster_name_from_the_layout(api, network, engine,
                                                                                   new_member, fmt):
    before = _export(api, format=fmt)
    assert before.headers["Netweave-Layout"] == "source=none; revision=None"
    assert not any("x" in data or "color" in data for data in _layout_attributes(fmt, before.get_data()).values())

    layout = api.get("/v1/analytics/layout").get_json()
    assert layout["view"] == "members"
    revision = layout["computed"]["revision"]
    response = _export(api, format=fmt)
    assert response.headers["Netweave-Layout"] == f"source=current; revision={revision}"
    carried = _layout_attributes(fmt, response.get_data())
    members, clusters = layout["members"], layout["clusters"]
    top = max(members["degree"])
    for i, member_id in enumerate(members["id"]):
        node, c = carried[member_id], members["cluster"][i]
        assert node["x"] == pytest.approx(members["x"][i])
        assert node["y"] == pytest.approx(layout["extent"] - members["y"][i]), "y grows upward, as in Gephi"
        assert node["color"] == clusters["colour"][c] and node["cluster_name"] == clusters["name"][c]
        assert node["size"] == pytest.approx(2.5 + 9.0 * (members["degree"][i] / top) ** 0.5, abs=0.01)
    assert len({carried[m]["color"] for m in members["id"]}) == len(clusters["id"]), "a colour per cluster"

    late = new_member("Gus Late", region="north")
    after = _export(api, format=fmt)
    assert after.headers["Netweave-Layout"] == f"source=earlier; revision={revision}"
    assert "x" not in _layout_attributes(fmt, after.get_data())[late["id"]], "not placed by an earlier layout"
