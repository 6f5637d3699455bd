"""Segments (GET /v1/analytics/segments) on real networks, against networkx and an independent count."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from fractions import Fraction

import networkx as nx
import pytest

from tests.analytics.attributes import define_member_attribute, set_member_attribute
from tests.analytics.conftest import NETWORKS, karate, les_miserables, southern_women, with_settings

CLUB_ROLE = {"Mr. Hi": "teacher", "Officer": "coach"}


def _segments(api, **query):
    response = api.get("/v1/analytics/segments", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def expected_ranges(value_of: dict, bins: int, min_size: int) -> dict:
    """value -> (lowest, highest value) of its range, derived here: the members with a value ranked by value,
    `bins` equal shares of them (at most one per min_size members); a value's range is the share that holds the
    middle of its members' ranks, and holds every value whose middle falls in the same share."""
    held = [value for value in value_of.values() if value is not None]
    shares = max(1, min(bins, len(held) // min_size))
    share = {}
    for value in set(held):
        first, count = sum(1 for other in held if other < value), held.count(value)
        share[value] = int(shares * (first + Fraction(count, 2)) / len(held))
    together = defaultdict(list)
    for value, k in share.items():
        together[k].append(value)
    return {value: (min(together[k]), max(together[k])) for value, k in share.items()}


def _range_label(low, high) -> str:
    return _text(low) if low == high else f"{_text(low)}-{_text(high)}"


def expected_segments(G: nx.Graph, value_of: dict, min_size: int, labels: dict | None = None,
                      ranges: dict | None = None) -> dict:
    """The report's segments, matrix and reach, counted here from networkx without the service's code; with
    `ranges` (value -> (lowest, highest)), the segments are those ranges, in ascending order."""
    if ranges is not None:
        value_of = {node: None if value is None else ranges[value] for node, value in value_of.items()}
    labels = labels or {}
    label = lambda value: _range_label(*value) if ranges else labels.get(value, _text(value))  # noqa: E731
    counts = Counter(value for value in value_of.values() if value is not None)
    kept = sorted((v for v, n in counts.items() if n >= min_size),
                  key=lambda v: v if ranges else (-counts[v], label(v)))
    pooled = [v for v, n in counts.items() if n < min_size]
    kinds = [("range" if ranges else "value", v) for v in kept] + [("other", None)] * bool(pooled) + \
        [("unknown", None)] * any(v is None for v in value_of.values())
    other_label = f"Other ({len(pooled)} group{'s' * (len(pooled) != 1)} of fewer than {min_size} members)"
    names = {"other": other_label, "unknown": "Unknown (no value)"}

    def index(node) -> int:
        value = value_of[node]
        if value is None:
            return kinds.index(("unknown", None))
        return kept.index(value) if value in kept else kinds.index(("other", None))

    k = len(kinds)
    members = defaultdict(set)
    for node in G:
        members[index(node)].add(node)
    matrix = [[0] * k for _ in range(k)]
    for u, v in G.edges():
        i, j = sorted((index(u), index(v)))
        matrix[i][j] += 1
    within = {v: set(nx.single_source_shortest_path_length(G, v, cutoff=2)) - {v} for v in G}
    reach = [[sum(1 for v in members[i] if within[v] & members[j]) / len(members[i]) for j in range(k)]
             for i in range(k)]
    segments = []
    for i, (kind, value) in enumerate(kinds):
        inside = G.subgraph(members[i]).number_of_edges()
        outside = sum(1 for u, v in G.edges() if (u in members[i]) != (v in members[i]))
        size = len(members[i])
        segments.append({"kind": kind, "value": value if kind == "value" else None,
                         "label": names.get(kind) or label(value),
                         "range": {"min": value[0], "max": value[1]} if kind == "range" else None,
                         "size": size, "internal_ties": inside, "external_ties": outside,
                         "ei_index": (outside - inside) / (outside + inside) if outside + inside else None,
                         "density": 2 * inside / (size * (size - 1)) if size > 1 else 0.0})
    return {"segments": segments, "matrix": matrix, "reach": reach, "pooled": len(pooled),
            "pooled_members": sum(counts[v] for v in pooled)}


def _check(body: dict, G: nx.Graph, expected: dict) -> None:
    assert body["members"] == G.number_of_nodes() and body["ties"] == G.number_of_edges()
    assert sum(map(sum, body["matrix"])) == body["ties"]
    assert body["matrix"] == expected["matrix"]
    assert body["pooled"] == {"segments": expected["pooled"], "members": expected["pooled_members"]}
    assert len(body["segments"]) == len(expected["segments"])
    for got, want in zip(body["segments"], expected["segments"]):
        for name, value in want.items():
            assert got[name] == (pytest.approx(value) if isinstance(value, float) else value), (name, want)
    for row, want in zip(body["reach"], expected["reach"]):
        assert row == pytest.approx(want)


def test_segments_by_role_on_the_karate_club_equal_networkx(api, load_network):
    G, weight = karate()
    ids = load_network(G, weight, member_fields=lambda node, data: {"role": CLUB_ROLE[data["club"]]})
    body = _segments(api, by="role")
    roles = {node: CLUB_ROLE[G.nodes[node]["club"]] for node in G}
    _check(body, G, expected_segments(G, roles, 5))
    assert body["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(G, "club"), abs=1e-12)
    assert body["assortativity_kind"] == "categorical" and body["assignment"]["rule"] == "value"
    assert body["unknown_members"] == 0 and body["by"] == "role" and body["attribute"] is None
    assert len(ids) == body["members"]


@pytest.mark.parametrize("network", sorted(NETWORKS))
def test_segments_by_region_with_small_regions_pooled_and_unknowns(api, engine, load_network, network):
    """Regions by node order, one large and five small, so some fall below min_size; every seventh member has
    none."""
    G, weight = NETWORKS[network]()
    region = {node: None if k % 7 == 3 else f"region-{min(k % 11, 5)}" for k, node in enumerate(G)}
    load_network(G, weight, member_fields=lambda node, data: {"region": region[node]} if region[node] else {})
    min_size = max(3, len(G) // 8)
    with_settings(engine, segment_min_size=3)
    body = _segments(api, by="region", min_size=min_size)
    _check(body, G, expected_segments(G, region, min_size))
    assert body["unknown_members"] == sum(1 for v in region.values() if v is None)
    assert body["segments"][-1]["kind"] == "unknown"
    H = G.subgraph(node for node in G if region[node] is not None)
    nx.set_node_attributes(H, region, "region")
    assert body["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(H, "region"), abs=1e-12)


def test_custom_string_attribute_on_davis_southern_women(api, load_network):
    """The two circles of Davis, Gardner and Gardner as usually read (women 1-9 and 10-16); the last two women,
    on the edge of both, have no value."""
    G, weight = southern_women()
    ids = load_network(G, weight)
    women = list(G)
    circle = {woman: "first" if k < 9 else "second" if k < 16 else None for k, woman in enumerate(women)}
    define_member_attribute(api, "circle", "string")
    set_member_attribute(api, "circle", {ids[w]: c for w, c in circle.items() if c is not None})

    body = _segments(api, by="attributes.circle")
    _check(body, G, expected_segments(G, circle, 5))
    assert body["attribute"] == {"name": "circle", "type": "string"} and body["unknown_members"] == 2
    H = G.subgraph(w for w in G if circle[w])
    nx.set_node_attributes(H, circle, "circle")
    assert body["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(H, "circle"), abs=1e-12)


def test_integer_attribute_assortativity_is_numeric_and_equals_networkx(api, load_network):
    """Each karate member's number of contacts as an integer attribute: its numeric assortativity is the
    network's degree assortativity, on the raw values, whether the segments are its values or (with `bins`)
    ranges of them (11 distinct)."""
    G, weight = karate()
    ids = load_network(G, weight)
    define_member_attribute(api, "contacts", "integer")
    set_member_attribute(api, "contacts", {ids[node]: degree for node, degree in G.degree()})
    nx.set_node_attributes(G, dict(G.degree()), "contacts")

    body = _segments(api, by="attributes.contacts")
    assert body["assortativity_kind"] == "numeric"
    assert body["assortativity"] == pytest.approx(nx.numeric_assortativity_coefficient(G, "contacts"), abs=1e-12)
    assert body["assortativity"] == pytest.approx(nx.degree_assortativity_coefficient(G), abs=1e-12)
    degrees = dict(G.degree())
    # Without bins, a segment per value, as for any lens.
    assert body["grouping"] == {"method": "values", "unit": "value", "bins": None, "max_bins": None}
    _check(body, G, expected_segments(G, degrees, 5))
    ranged = _segments(api, by="attributes.contacts", bins=5)
    assert len(set(degrees.values())) > 8 and ranged["grouping"]["method"] == "quantiles"
    assert ranged["assortativity"] == body["assortativity"]
    _check(ranged, G, expected_segments(G, degrees, 5, ranges=expected_ranges(degrees, 5, 5)))


def test_number_attribute_with_unknowns_on_les_miserables(api, load_network):
    """Each character's co-appearances (summed weights) over ten as a number; every fifth character has none."""
    G, weight = les_miserables()
    ids = load_network(G, weight)
    scenes = {node: (None if k % 5 == 0 else round(G.degree(node, weight=weight) / 10, 1))
              for k, node in enumerate(G)}
    define_member_attribute(api, "scenes", "number")
    set_member_attribute(api, "scenes", {ids[n]: v for n, v in scenes.items() if v is not None})

    body = _segments(api, by="attributes.scenes")
    H = G.subgraph(n for n in G if scenes[n] is not None)
    nx.set_node_attributes(H, scenes, "scenes")
    assert body["assortativity"] == pytest.approx(nx.numeric_assortativity_coefficient(H, "scenes"), abs=1e-12)
    expected = expected_segments(G, scenes, 5)
    _check(body, G, expected)
    assert expected["pooled"] > 0 and body["segments"][-2]["kind"] == "other"
    ranged = _segments(api, by="attributes.scenes", bins=5)
    _check(ranged, G, expected_segments(G, scenes, 5, ranges=expected_ranges(scenes, 5, 5)))
    assert ranged["grouping"] == {"method": "quantiles", "unit": "value", "bins": 5, "max_bins": 5}
    assert [s["kind"] for s in ranged["segments"]] == ["range"] * 5 + ["unknown"]
    assert ranged["segments"][-1]["label"] == "Unknown (no value)"

    # More bins than min_size allows: at most one range per min_size members with a value.
    fine = _segments(api, by="attributes.scenes", bins=16)
    ranges = expected_ranges(scenes, 16, 5)
    _check(fine, G, expected_segments(G, scenes, 5, ranges=ranges))
    assert fine["grouping"] == {"method": "quantiles", "unit": "value", "bins": len(set(ranges.values())),
                                "max_bins": 16}
    assert 5 < fine["grouping"]["bins"] <= len(H) // 5


def test_years_in_role_fall_into_readable_ranges_of_about_equal_size(api, load_network):
    """Years in role from 0 to 40 over Les Misérables' 77 characters: nearly every value is held by one or two
    members, so by value everything would pool into `other`; ranges of values hold about a fifth each."""
    G, weight = les_miserables()
    ids = load_network(G, weight)
    years = {node: (k * 7) % 41 if k % 9 else None for k, node in enumerate(G)}
    define_member_attribute(api, "years_in_role", "integer")
    set_member_attribute(api, "years_in_role", {ids[n]: v for n, v in years.items() if v is not None})
    held = [value for value in years.values() if value is not None]

    body = _segments(api, by="attributes.years_in_role", bins=5)
    assert body["grouping"] == {"method": "quantiles", "unit": "value", "bins": 5, "max_bins": 5}
    ranges = [s for s in body["segments"] if s["kind"] == "range"]
    assert len(ranges) == 5 and body["pooled"] == {"segments": 0, "members": 0}
    # Every member with a value is in exactly one range, ranges ascend without overlap, and no value is split.
    assert sum(s["size"] for s in ranges) == len(held)
    for s in ranges:
        assert s["size"] == sum(1 for value in held if s["range"]["min"] <= value <= s["range"]["max"])
        assert s["range"]["min"] in held and s["range"]["max"] in held
        assert s["label"] == f"{s['range']['min']}-{s['range']['max']}" and s["value"] is None
        assert len(held) // 5 - 2 <= s["size"] <= len(held) // 5 + 3
    assert all(a["range"]["max"] < b["range"]["min"] for a, b in zip(ranges, ranges[1:]))
    assert sum(map(sum, body["matrix"])) == G.number_of_edges()
    _check(body, G, expected_segments(G, years, 5, ranges=expected_ranges(years, 5, 5)))
    H = G.subgraph(n for n in G if years[n] is not None)
    nx.set_node_attributes(H, years, "years")
    assert body["assortativity"] == pytest.approx(nx.numeric_assortativity_coefficient(H, "years"), abs=1e-12)

    three = _segments(api, by="attributes.years_in_role", bins=3)
    assert three["grouping"]["bins"] == 3 and three["assortativity"] == body["assortativity"]
    _check(three, G, expected_segments(G, years, 5, ranges=expected_ranges(years, 3, 5)))


def test_a_range_under_min_size_is_pooled_into_a_labelled_other(api, load_network):
    """Ten distinct values on the karate club, two held by 13 members each: the quantile between them holds one
    member, pooled; equal values never split although 13 is more than a fifth of 34."""
    G, weight = karate()
    ids = load_network(G, weight)
    level = {node: float(10 if node < 13 else 11 if node == 13 else 20 if node < 27 else node + 3) for node in G}
    define_member_attribute(api, "level", "number")
    set_member_attribute(api, "level", {ids[n]: v for n, v in level.items()})

    body = _segments(api, by="attributes.level", bins=5)
    assert [(s["kind"], s["label"], s["size"]) for s in body["segments"]] == [
        ("range", "10.0", 13), ("range", "20.0", 13), ("range", "30.0-36.0", 7),
        ("other", "Other (1 group of fewer than 5 members)", 1)]
    assert body["pooled"] == {"segments": 1, "members": 1} and body["grouping"]["bins"] == 4
    _check(body, G, expected_segments(G, level, 5, ranges=expected_ranges(level, 5, 5)))


def test_dates_of_many_days_are_segmented_by_calendar_year_then_by_ranges_of_years(api, load_network):
    G, weight = karate()
    ids = load_network(G, weight)
    started = {node: date(2018 + node % 3, 1 + node % 12, 1 + node % 28) for node in G}
    hired = {node: date(2008 + node % 12, 1 + node % 12, 1) for node in G}
    define_member_attribute(api, "started", "date")
    define_member_attribute(api, "hired", "date")
    set_member_attribute(api, "started", {ids[n]: v for n, v in started.items()})
    set_member_attribute(api, "hired", {ids[n]: v for n, v in hired.items()})

    by_year = _segments(api, by="attributes.started", bins=5)
    assert by_year["grouping"] == {"method": "values", "unit": "year", "bins": None, "max_bins": 5}
    _check(by_year, G, expected_segments(G, {n: day.year for n, day in started.items()}, 5))
    assert {s["label"] for s in by_year["segments"]} == {"2018", "2019", "2020"}
    # Assortativity stays on the dates themselves, not their years.
    nx.set_node_attributes(G, {n: day.isoformat() for n, day in started.items()}, "started")
    assert by_year["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(G, "started"),
                                                     abs=1e-12)

    ranged = _segments(api, by="attributes.hired", bins=5)
    years = {n: day.year for n, day in hired.items()}
    assert ranged["grouping"] == {"method": "quantiles", "unit": "year", "bins": 5, "max_bins": 5}
    _check(ranged, G, expected_segments(G, years, 5, ranges=expected_ranges(years, 5, 5)))
    assert ranged["segments"][0]["label"] == f"2008-{ranged['segments'][0]['range']['max']}"


@pytest.mark.parametrize("bins, by, reason", [
    (0, "attributes.years", "zero"), (1, "attributes.years", "one range is no grouping"),
    (21, "attributes.years", "too many"), ("many", "attributes.years", "not a number"),
    (3, "role", "role is not a number or a date"),
])
def test_an_unusable_bins_is_a_problem_naming_bins(api, new_member, bins, by, reason):
    new_member("A")
    define_member_attribute(api, "years", "integer")
    response = api.get("/v1/analytics/segments", query_string={"by": by, "bins": bins})
    assert response.status_code == 422, reason
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["bins"]


def test_boolean_and_date_attributes_are_categorical(api, load_network):
    G, weight = karate()
    ids = load_network(G, weight)
    mentor = {node: G.degree(node) >= 5 for node in G}
    joined = {node: date(2020, 1 + node % 3, 1) for node in G}
    define_member_attribute(api, "mentor", "boolean")
    define_member_attribute(api, "joined", "date")
    set_member_attribute(api, "mentor", {ids[n]: v for n, v in mentor.items()})
    set_member_attribute(api, "joined", {ids[n]: v for n, v in joined.items()})

    flags = _segments(api, by="attributes.mentor")
    _check(flags, G, expected_segments(G, mentor, 5))
    assert {s["label"] for s in flags["segments"]} == {"true", "false"}
    nx.set_node_attributes(G, mentor, "mentor")
    assert flags["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(G, "mentor"), abs=1e-12)

    days = _segments(api, by="attributes.joined")
    as_text = {node: day.isoformat() for node, day in joined.items()}
    _check(days, G, expected_segments(G, as_text, 5))
    assert days["assortativity_kind"] == "categorical"
    assert days["grouping"] == {"method": "values", "unit": "value", "bins": None, "max_bins": None}
    assert flags["grouping"] == {"method": "values", "unit": "value", "bins": None, "max_bins": None}


def test_by_organization_counts_each_member_in_its_longest_standing_affiliation(api, load_network, new_organization):
    """The karate club's two clubs after the split; some members also joined the other club, later (their
    primary stays), and a few had joined it earlier (the other club is their primary)."""

    def affiliate(member_id: str, organization_id: str, since: str) -> None:
        response = api.put(f"/v1/members/{member_id}/affiliations/{organization_id}", json={"since": since})
        assert response.status_code == 201, response.get_json()

    G, weight = karate()
    ids = load_network(G, weight)
    clubs = {club: new_organization(name) for club, name in (("Mr. Hi", "Mr Hi's club"), ("Officer", "Officers"))}
    other = {"Mr. Hi": "Officer", "Officer": "Mr. Hi"}
    primary = {}
    for node in G:
        own = G.nodes[node]["club"]
        affiliate(ids[node], clubs[own]["id"], "2019-01-01")
        primary[node] = clubs[own]["id"]
        if node % 4 == 1:
            affiliate(ids[node], clubs[other[own]]["id"], "2020-06-01")
        elif node % 4 == 2:
            affiliate(ids[node], clubs[other[own]]["id"], "2018-06-01")
            primary[node] = clubs[other[own]]["id"]
    unaffiliated = 32          # a member with one affiliation (32 % 4 == 0), which it leaves
    left = api.delete(f"/v1/members/{ids[unaffiliated]}/affiliations/{clubs[G.nodes[unaffiliated]['club']]['id']}")
    assert left.status_code == 204
    primary[unaffiliated] = None

    body = _segments(api, by="organization")
    names = {club["id"]: club["name"] for club in clubs.values()}
    _check(body, G, expected_segments(G, primary, 5, names))
    assert body["assignment"]["rule"] == "primary_organization"
    assert "longest-standing" in body["assignment"]["description"]
    H = G.subgraph(n for n in G if primary[n])
    nx.set_node_attributes(H, primary, "organization")
    assert body["assortativity"] == pytest.approx(nx.attribute_assortativity_coefficient(H, "organization"),
                                                  abs=1e-12)

    # Before 2019 only the early second affiliations were active: those members' only (so primary) organization.
    early = _segments(api, by="organization", as_of="2018-12-31")
    assert early["unknown_members"] == sum(1 for n in G if n % 4 != 2)


def test_min_size_pools_small_segments_and_cannot_go_below_the_setting(api, engine, load_network):
    G, weight = karate()
    load_network(G, weight, member_fields=lambda node, data: {"role": CLUB_ROLE[data["club"]]})
    pooled = _segments(api, by="role", min_size=18)
    assert [(s["kind"], s["size"]) for s in pooled["segments"]] == [("other", 34)]
    assert pooled["segments"][0]["label"] == "Other (2 groups of fewer than 18 members)"
    assert pooled["pooled"] == {"segments": 2, "members": 34} and pooled["min_size"] == 18
    assert pooled["matrix"] == [[G.number_of_edges()]]

    refused = api.get("/v1/analytics/segments", query_string={"by": "role", "min_size": 4})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert [e["field"] for e in refused.get_json()["errors"]] == ["min_size"]

    with_settings(engine, segment_min_size=18)
    assert _segments(api, by="role")["min_size"] == 18
    with_settings(engine, segment_min_size=2)
    assert _segments(api, by="role", min_size=4)["pooled"]["segments"] == 0


def test_segments_take_the_health_filters_and_as_of(api, load_network, new_member, new_collaboration):
    G, weight = karate()
    ids = load_network(G, weight, member_fields=lambda node, data: {
        "role": CLUB_ROLE[data["club"]], "region": "north" if node < 20 else "south"})
    north = _segments(api, by="role", region="north")
    H = G.subgraph(range(20))
    _check(north, H, expected_segments(H, {n: CLUB_ROLE[G.nodes[n]["club"]] for n in H}, 5))
    assert north["scope"] == {"organization_id": None, "region": "north", "role": None, "topic": None}

    a, b = new_member("Late", role="teacher"), new_member("Later", role="coach")
    started = (date.today() + timedelta(days=30)).isoformat()
    new_collaboration(a, b, started_on=started)
    assert _segments(api, by="role")["ties"] == G.number_of_edges()
    assert _segments(api, by="role", as_of=started)["ties"] == G.number_of_edges() + 1
    assert len(ids) + 2 == _segments(api, by="role")["members"]


@pytest.mark.parametrize("by, reason", [
    ("rank", "not a lens"), ("attributes.Grade", "upper case"), ("attributes.", "no name"),
    ("attributes." + "a" * 41, "too long"), ("attributes.undefined", "not defined"),
    ("attributes.interests", "tags hold several values"), ("attributes.circle", "an organization's attribute"),
])
def test_an_unusable_by_is_a_problem_naming_by(api, new_member, by, reason):
    new_member("A")
    define_member_attribute(api, "interests", "tags")
    define_member_attribute(api, "circle", "string", target="organization")
    response = api.get("/v1/analytics/segments", query_string={"by": by})
    assert response.status_code == 422, reason
    assert response.mimetype == "application/problem+json"
    assert [e["field"] for e in response.get_json()["errors"]] == ["by"]


def test_a_personal_attribute_needs_the_pii_scope(api, make_key, load_network):
    G, weight = karate()
    ids = load_network(G, weight)
    define_member_attribute(api, "disability", "boolean", pii=True)
    set_member_attribute(api, "disability", {ids[n]: n % 3 == 0 for n in G})
    refused = api.with_key(make_key("analytics")).get("/v1/analytics/segments?by=attributes.disability")
    assert refused.status_code == 403 and refused.get_json()["required_scopes"] == ["pii"]
    assert [error["field"] for error in refused.get_json()["errors"]] == ["by"]
    allowed = api.with_key(make_key("analytics", "pii")).get("/v1/analytics/segments?by=attributes.disability")
    assert allowed.status_code == 200 and allowed.get_json()["members"] == len(G)
