"""Recommendations on a small hand-built network: exclusions, strategies, reasons, introductions."""

import uuid

import pytest

from tests.conftest import run_test_query


@pytest.fixture
def network(api, graph, new_member, new_organization, new_collaboration):
    """A: the member asking. D closes two triangles, E one, F shares A's topics in A's organization,
    G sits in another cluster three hops away with a shared topic; H is not discoverable, I declined,
    J already collaborates with A."""
    org, other, topical, partner = (new_organization("Org One", topics=["math"]),
                                    new_organization("Org Two", topics=["science"]),
                                    new_organization("Org Three", topics=["math", "equity"]),
                                    new_organization("Org Four", topics=["math"]))
    people = {}
    for name, fields in {
        "A": {"topics": ["math", "equity"], "region": "north", "role": "teacher"},
        "B": {"topics": ["art"], "region": "north"}, "C": {"topics": ["art"], "region": "south"},
        "D": {"topics": ["equity"], "region": "north", "role": "coach"},
        "E": {"topics": ["music"], "region": "south", "role": "teacher"},
        "F": {"topics": ["math", "equity"], "region": "east", "role": "coach"},
        "G": {"topics": ["math"], "region": "west", "role": "principal"},
        "H": {"topics": ["math"], "discoverable": False}, "I": {"topics": ["equity"]}, "J": {"topics": ["math"]},
    }.items():
        people[name] = new_member(name, **fields)
    for a, b in ["AB", "AC", "BD", "CD", "BE", "EG", "BH", "CI", "AJ", "BJ"]:
        new_collaboration(people[a], people[b])
    for name in "ABCDEFHIJ":
        api.put(f"/v1/members/{people[name]['id']}/affiliations/{org['id']}", json={})
    api.put(f"/v1/members/{people['G']['id']}/affiliations/{other['id']}", json={})
    new_collaboration(org, partner, kind="partnership")
    declined = api.post("/v1/introductions", json={"member_ids": [people["A"]["id"], people["I"]["id"]]}).get_json()
    api.patch(f"/v1/introductions/{declined['id']}", json={"status": "declined"}, headers={"If-Match": '"1"'})
    run_test_query(graph, "test_set_clusters", rows=[
        {"id": p["id"], "cluster_id": "c2" if name == "G" else "c1"} for name, p in people.items()])
    ids = {p["id"]: name for name, p in people.items()}
    return {"people": people, "ids": ids, "org": org, "other": other, "topical": topical, "partner": partner}


def _names(network, body):
    return [network["ids"][item["member"]["id"]] for item in body["items"]]


def _recommend(api, network, who="A", **query):
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = api.get(f"/v1/members/{network['people'][who]['id']}/recommendations?{params}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_never_self_existing_tie_non_discoverable_or_declined(api, network):
    for strategy in ("balanced", "close_triangles", "shared_interests", "bridge_silos"):
        names = _names(network, _recommend(api, network, strategy=strategy, limit=50))
        assert not {"A", "B", "C", "J", "H", "I"} & set(names), strategy


def test_close_triangles_ranks_by_mutual_collaborators(api, network):
    body = _recommend(api, network, strategy="close_triangles")
    assert _names(network, body) == ["D", "E"]
    reason = body["items"][0]["reasons"][0]
    assert reason["type"] == "mutual_collaborators" and reason["count"] == 2
    # The least connected mutual collaborator first: C has two ties, B five.
    assert [m["name"] for m in reason["members"]] == ["C", "B"]
    assert reason["text"] == "2 mutual collaborators: C and B"


def test_shared_interests_puts_the_same_topics_first(api, network):
    body = _recommend(api, network, strategy="shared_interests")
    assert _names(network, body)[0] == "F"
    reason = body["items"][0]["reasons"][0]
    assert (reason["type"], reason["topics"], reason["text"]) == ("shared_topics", ["equity", "math"],
                                                                  "both work on equity and math")
    assert "E" not in _names(network, body), "no shared topic, no shared-interest suggestion"


def test_bridge_silos_only_proposes_other_clusters(api, network):
    body = _recommend(api, network, strategy="bridge_silos")
    assert _names(network, body) == ["G"]
    item = body["items"][0]
    reason = item["reasons"][0]     # the bridging it is proposed for comes first
    assert (reason["type"], reason["from"], reason["to"], reason["text"]) == ("bridges_clusters", "c1", "c2",
                                                                              "bridges two clusters")
    assert item["impact"]["joins_untied_clusters"] is False, "E-G already ties c1 to c2"


def test_balanced_mixes_the_signals(api, network):
    body = _recommend(api, network)
    names = _names(network, body)
    assert names[0] == "D" and set(names) >= {"D", "E", "F", "G"}
    assert body["strategy"] == "balanced" and body["computed"]["clustering"] == "available"
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all("impact" in item for item in body["items"])


def test_filters_narrow_the_candidates(api, network):
    assert _names(network, _recommend(api, network, role="coach")) == ["D", "F"]
    assert _names(network, _recommend(api, network, region="west")) == ["G"]
    assert _names(network, _recommend(api, network, organization_id=network["other"]["id"])) == ["G"]
    assert "G" not in _names(network, _recommend(api, network, exclude_organization_id=network["other"]["id"]))


def test_without_clusters_bridge_silos_degrades_and_says_so(api, graph, network):
    run_test_query(graph, "test_set_clusters", rows=[{"id": p["id"], "cluster_id": None}
                                                     for p in network["people"].values()])
    body = _recommend(api, network, strategy="bridge_silos")
    assert "degraded" in body["computed"] and body["computed"]["clustering"] == "missing"
    assert _names(network, body)[0] == "F"


def test_accepted_introduction_becomes_a_tie_and_leaves_the_recommendations(api, network):
    a, d = network["people"]["A"], network["people"]["D"]
    created = api.post("/v1/introductions", json={"member_ids": [a["id"], d["id"]], "note": "both coach equity"})
    assert created.status_code == 201
    introduction = created.get_json()
    assert introduction["status"] == "suggested" and [m["name"] for m in introduction["members"]] == ["A", "D"]
    assert "D" not in _names(network, _recommend(api, network)), "an introduced pair is not suggested again"
    accepted = api.patch(f"/v1/introductions/{introduction['id']}", json={"status": "accepted"},
                         headers={"If-Match": created.headers["ETag"]})
    assert accepted.status_code == 200
    tie = api.get(f"/v1/collaborations/{accepted.get_json()['collaboration_id']}").get_json()
    assert tie["kind"] == "introduction" and {p["id"] for p in tie["parties"]} == {a["id"], d["id"]}
    again = api.patch(f"/v1/introductions/{introduction['id']}", json={"status": "declined"},
                      headers={"If-Match": '"2"'})
    assert again.status_code == 409
    listed = api.get(f"/v1/introductions?member_id={a['id']}&status=accepted").get_json()["items"]
    assert [i["id"] for i in listed] == [introduction["id"]]


@pytest.mark.parametrize("pair, status, field", [
    (("A", "A"), 422, "member_ids"), (("A", None), 422, "member_ids.1"), (("A", "B"), 409, None),
    (("A", "I"), 409, None),
])
def test_introduction_rules(api, network, pair, status, field):
    ids = [network["people"][p]["id"] if p else str(uuid.uuid4()) for p in pair]
    response = api.post("/v1/introductions", json={"member_ids": ids})
    assert response.status_code == status
    if field:
        assert field in [e["field"] for e in response.get_json()["errors"]]


def test_organization_recommendations(api, network):
    response = api.get(f"/v1/organizations/{network['org']['id']}/recommendations")
    assert response.status_code == 200
    items = response.get_json()["items"]
    names = [item["organization"]["name"] for item in items]
    assert names[0] == "Org Two" and "Org Three" in names
    assert "Org Four" not in names and "Org One" not in names, "no existing partner, never itself"
    ties = items[0]["reasons"][0]
    assert ties["type"] == "member_ties" and ties["count"] == 1
    assert (ties["examples"][0]["member_name"], ties["examples"][0]["partner_name"]) == ("E", "G")
    assert {"type": "shared_topics", "topics": ["math"]} in items[names.index("Org Three")]["reasons"]


@pytest.mark.parametrize("query, field", [("strategy=random", "strategy"), ("limit=51", "limit"),
                                          ("limit=0", "limit"), ("role=%20", "role"), ("foo=1", "foo")])
def test_bad_recommendation_arguments(api, network, query, field):
    response = api.get(f"/v1/members/{network['people']['A']['id']}/recommendations?{query}")
    assert response.status_code == 422 and field in [e["field"] for e in response.get_json()["errors"]]


def test_unknown_member_or_organization_is_404(api):
    assert api.get(f"/v1/members/{uuid.uuid4()}/recommendations").status_code == 404
    assert api.get(f"/v1/organizations/{uuid.uuid4()}/recommendations").status_code == 404


def test_impact_names_the_articulation_points_a_tie_would_route_around(app, api, graph, make_key, network):
    from service.analytics.engine import get_engine

    before = _recommend(api, network, strategy="bridge_silos")
    assert before["items"][0]["impact"]["around_articulation_points"] is None
    assert "bridges" in before["computed"]["impact"]
    analyst = api.with_key(make_key("analytics"))
    assert analyst.get("/v1/analytics/bridges").status_code == 200
    # The analysis writes its own cluster ids back; put the fixture's clusters on again (not a change).
    get_engine(app).wait_idle(30)
    run_test_query(graph, "test_set_clusters", rows=[
        {"id": p["id"], "cluster_id": "c2" if name == "G" else "c1"} for name, p in network["people"].items()])
    after = _recommend(api, network, strategy="bridge_silos")
    people = network["people"]
    # Every path from A to G runs through B and then E; a tie A-G gives a way around both.
    assert sorted(after["items"][0]["impact"]["around_articulation_points"]) == sorted(
        [people["B"]["id"], people["E"]["id"]])
    assert "impact" not in after["computed"]
    balanced = {network["ids"][i["member"]["id"]]: i["impact"] for i in _recommend(api, network)["items"]}
    assert balanced["D"]["around_articulation_points"] == [], "A and D already share a block"


def test_member_recommendations_are_what_the_schema_dumps(app, api, make_key, network):
    """The view sends the repository's result without marshmallow (for speed): it must be exactly what the
    documented schema dumps, for every strategy, with reasons of every kind and the impact."""
    from schemas.recommendations import MemberRecommendationsSchema
    from service.recommending.recommendations import STRATEGIES

    reader = api.with_key(make_key("read"))
    kinds = set()
    for strategy in STRATEGIES:
        response = reader.get(f"/v1/members/{network['people']['A']['id']}/recommendations?strategy={strategy}")
        assert response.status_code == 200 and response.mimetype == "application/json"
        body = response.get_json()
        assert body["items"], strategy
        kinds |= {reason["type"] for item in body["items"] for reason in item["reasons"]}
        with app.test_request_context():
            assert MemberRecommendationsSchema().dump(body) == body, strategy
    assert kinds == {"mutual_collaborators", "shared_topics", "bridges_clusters", "same_region"}


def test_impact_says_when_a_tie_would_join_two_untied_clusters(api, graph, network):
    people = network["people"]
    first = _recommend(api, network, strategy="bridge_silos")["items"]
    assert [item["impact"]["joins_untied_clusters"] for item in first] == [False], "E-G ties c1 to c2"
    # G alone in c2 and E alone in c3: E-G ties c3 to c2 and B-E ties c1 to c3, nothing ties c1 to c2.
    # Same revision, new cluster assignment: what the worker remembered about c1 and c2 no longer holds.
    run_test_query(graph, "test_set_clusters", rows=[
        {"id": p["id"], "cluster_id": {"G": "c2", "E": "c3"}.get(name, "c1")} for name, p in people.items()])
    impact = {network["ids"][item["member"]["id"]]: item["impact"]["joins_untied_clusters"]
              for item in _recommend(api, network, strategy="bridge_silos")["items"]}
    assert impact == {"G": True, "E": False}


def test_the_cluster_write_back_counts_itself_for_what_is_derived_from_cluster_ids(app, graph, make_key, api, network):
    from service.analytics.engine import get_engine

    before = run_test_query(graph, "test_counter_value", counter="clusters")[0]["value"]
    assert api.with_key(make_key("analytics")).get("/v1/analytics/clusters").status_code in (200, 202)
    get_engine(app).wait_idle(30)
    assert run_test_query(graph, "test_counter_value", counter="clusters")[0]["value"] > before


def test_an_answer_is_kept_until_the_graph_changes(api, network):
    first = _recommend(api, network, strategy="close_triangles")
    again = _recommend(api, network, strategy="close_triangles")
    assert first["computed"]["cached"] is False and again["computed"]["cached"] is True
    assert again["items"] == first["items"]
    # Other arguments are another answer.
    assert _recommend(api, network, strategy="close_triangles", limit=1)["computed"]["cached"] is False
    # A member leaving discovery is a write: the next answer is computed again, without them.
    top = first["items"][0]["member"]
    etag = api.get(f"/v1/members/{top['id']}").headers["ETag"]
    assert api.patch(f"/v1/members/{top['id']}", json={"discoverable": False},
                     headers={"If-Match": etag}).status_code == 200
    after = _recommend(api, network, strategy="close_triangles")
    assert after["computed"]["cached"] is False
    assert top["id"] not in {item["member"]["id"] for item in after["items"]}


def test_a_role_reason_names_the_role_as_the_network_labels_it(api, app, new_member, new_collaboration, monkeypatch):
    """Roles are stored as values (instructional_coach); a reason's sentence is read by people, so it uses the
    member_role vocabulary's label ("Instructional Coach"), while the candidate's `role` stays the value."""
    monkeypatch.setitem(app.config["NETWEAVE_RECOMMENDATION_WEIGHTS"], "balanced",
                        {"same_role": 5.0, "common_neighbours": 1.0})
    asking = new_member("Role Asker", role="Instructional Coach")
    peer = new_member("Role Peer", role="instructional coach")
    between = new_member("Role Between", role="teacher")
    new_collaboration(asking, between)
    new_collaboration(between, peer)
    body = api.get(f"/v1/members/{asking['id']}/recommendations?strategy=balanced").get_json()
    (item,) = [item for item in body["items"] if item["member"]["id"] == peer["id"]]
    assert item["member"]["role"] == "instructional_coach" and "role_label" not in item["member"]
    assert {"type": "same_role", "text": "both work as Instructional Coach"}.items() <= next(
        reason for reason in item["reasons"] if reason["type"] == "same_role").items()
    # Relabelling the role writes nothing to the graph; the kept answer is not served with the old words.
    current = api.get("/v1/vocabularies/member_role")
    values = [{**term, "label": "Literacy Coach"} if term["value"] == "instructional_coach" else term
              for term in current.get_json()["values"]]
    assert api.put("/v1/vocabularies/member_role", json={"policy": "open", "values": values},
                   headers={"If-Match": current.headers["ETag"]}).status_code == 200
    again = api.get(f"/v1/members/{asking['id']}/recommendations?strategy=balanced").get_json()
    (item,) = [item for item in again["items"] if item["member"]["id"] == peer["id"]]
    assert again["computed"]["cached"] is False
    assert "both work as Literacy Coach" in [reason["text"] for reason in item["reasons"]]
