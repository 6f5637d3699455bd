"""The learned ranking of member recommendations (service/recommending/ranking.py): one feature definition for training
and serving, models trained per network and served across writes, feedback that moves the ranking, and
the hand-set weights when a network is too small to learn from."""

import random

import networkx as nx
import pytest

from service.analytics.engine import get_engine
from service.repositories import analytics, ranking as ranking_repo, recommendations as recommendations_repo
from tests.conftest import run_test_query

REGIONS = ("north", "south", "east")
ROLES = ("teacher", "coach", "principal")
TOPICS = ("math", "science", "equity", "literacy", "music", "art")


def _load(api, new_member, new_organization, new_collaboration, *, members=60, seed=7):
    """A network of `members` with clustered ties (Holme-Kim), random regions, roles, topics and
    organizations (so none of them tells who is tied), and two small activities."""
    rng = random.Random(seed)
    shape = nx.powerlaw_cluster_graph(members, 3, 0.4, seed=seed)
    organizations = [new_organization(f"Org {i}") for i in range(4)]
    people, memberships = [], {}
    for i in range(members):
        people.append(new_member(f"Member {i:02d}", region=rng.choice(REGIONS), role=rng.choice(ROLES),
                                 topics=rng.sample(TOPICS, 2)))
    for i, person in enumerate(people):
        joined = rng.sample(organizations, rng.choice((0, 1, 1, 2)))
        memberships[person["id"]] = {organization["id"] for organization in joined}
        for organization in joined:
            assert api.put(f"/v1/members/{person['id']}/affiliations/{organization['id']}", json={}).status_code \
                in (200, 201)
    # Ties of every strength, some rated for trust (as check-ins rate them), a few pairs with a second tie.
    for a, b in shape.edges():
        new_collaboration(people[a], people[b], strength=rng.randint(1, 5), trust=rng.choice((None, None, 2, 4, 5)))
        if rng.random() < 0.15:
            new_collaboration(people[a], people[b], kind="advice", strength=rng.randint(1, 5),
                              trust=rng.choice((None, 1, 3)))
    for name, group in (("Spring Math Convening", people[0:6]), ("Coaching Cohort", people[10:14])):
        activity = api.post("/v1/activities", json={"name": name, "kind": "convening"}).get_json()
        response = api.put(f"/v1/activities/{activity['id']}/participants",
                           json={"participants": [{"member_id": p["id"], "role": "participant"} for p in group]})
        assert response.status_code == 200, response.get_data(as_text=True)
    run_test_query(api.client.application.extensions["netweave.graph"], "test_set_clusters", rows=[
        {"id": p["id"], "cluster_id": f"c{i % 3}"} for i, p in enumerate(people)])
    return people, memberships


@pytest.fixture
def loaded(api, new_member, new_organization, new_collaboration):
    return _load(api, new_member, new_organization, new_collaboration)


def _recommend(api, member, **query):
    params = "&".join(f"{k}={v}" for k, v in {"limit": 50, **query}.items())
    response = api.get(f"/v1/members/{member['id']}/recommendations?{params}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _train(api):
    response = api.get("/v1/analytics/ranking")
    assert response.status_code == 200, response.get_data(as_text=True)
    ranking_repo.CURRENT.forget(api.client.application.extensions["netweave.graph"])
    return response.get_json()


def test_training_and_serving_compute_the_same_features(api, graph, app, loaded, monkeypatch):
    people, memberships = loaded
    # The k-core numbers serving reads are the ones the reach analysis writes back.
    assert api.get("/v1/analytics/reach").status_code == 200
    get_engine(app).wait_idle(timeout=60)
    with app.app_context():
        engine = get_engine(app)
        revision = graph.read(lambda tx: tx.run("MATCH (c:Counter {name: 'changes'}) RETURN c.value").single()[0])
        scope = analytics.Scope.of(None)
        _, projection = analytics._projection(engine, graph, revision, scope)
        found = ranking_repo.inputs(graph, projection, scope)
    # With a model, so that the role pair feature has its table (and the learned weights rank).
    model = _train(api)["model"]
    whole = found.neighbourhoods(model["role_affinity"])
    assert model["role_affinity"] and any(value != 0 for value in model["role_affinity"].values())

    def compare() -> tuple[int, int]:
        compared = shared = trusted = 0
        strengths = set()
        for person in people[:12]:
            for item in _recommend(api, person)["items"]:
                served = item["features"]
                trained = whole.features(found.by_id[person["id"]], found.by_id[item["member"]["id"]])
                assert set(served) == set(trained)
                for name, value in trained.items():
                    assert served[name] == pytest.approx(value, abs=1e-9), (name, person["name"],
                                                                            item["member"]["name"])
                compared += 1
                shared += served["shared_organizations"] > 0
                trusted += served["trust_path"] > 0
                strengths.add(round(served["path_strength"], 6))
        # The tie values matter here: paths of several strengths, and trusted ones.
        assert trusted > 10 and len(strengths) > 5, (trusted, strengths)
        return compared, shared

    compared, shared = compare()
    assert compared > 100 and shared > 10
    # Serving reads the member's organizations with their members when they are small enough, else walks
    # each candidate's affiliations: both give the same features (no kept answer reused).
    assert any(memberships[person["id"]] for person in people[:12])
    monkeypatch.setattr(recommendations_repo, "MAX_ORGANIZATION_MEMBERS", 0)
    monkeypatch.setitem(app.config, "NETWEAVE_RECOMMENDATION_CACHE_ENTRIES", 0)
    assert compare() == (compared, shared)
    # And the candidates training scores are the ones serving proposes (no filter, no limit binding).
    person = people[5]
    served = {item["member"]["id"] for item in _recommend(api, person)["items"]}
    proposed = {projection.ids[v] for v in projection.member_vertices()
                if found.by_id[projection.ids[v]] in whole.candidates(found.by_id[person["id"]])}
    assert served <= proposed | _topic_neighbours(whole, found, person["id"])


def _topic_neighbours(whole, found, member_id):
    """Serving's fourth source: members three steps away sharing a topic (training leaves it out)."""
    ids = {v: k for k, v in found.by_id.items()}
    u = found.by_id[member_id]
    three = set()
    for a in whole.adjacent[u]:
        for b in whole.adjacent[a]:
            three.update(whole.adjacent[b])
    return {ids[v] for v in three if whole.topics[v] & whole.topics[u]}


def test_a_model_is_trained_versioned_and_serves_after_writes(api, graph, loaded, new_member, new_collaboration):
    people, _ = loaded
    body = _train(api)
    assert body["basis"] == "learned" and body["retrained"] is True
    model = body["model"]
    assert set(model["weights"]) == set(body["features"])
    figures = model["figures"]
    assert figures["ties"] == 171 and figures["positives"] >= 10
    assert set(figures["held_out"]["hits_at_10"]) == {"model", "adamic_adar", "hand_set"}
    # Asked again after a write too small to matter (one change; 5% of the ties are due): the same model.
    new_collaboration(people[0], people[-1])
    again = _train(api)
    assert again["computed"]["cached"] is False and again["computed"]["revision"] > model["trained_on_revision"]
    assert again["retrained"] is False and again["model"]["version"] == model["version"]

    answer = _recommend(api, people[0])
    assert answer["computed"]["model"] == {"basis": "learned", "version": model["version"],
                                           "trained_at": model["trained_at"],
                                           "trained_on_revision": model["trained_on_revision"]}
    assert answer["computed"]["weights"] == model["weights"]
    # Writes after training: the model still ranks, and says which revision it learned from.
    newcomer = new_member("Newcomer", region="north", topics=["math"])
    new_collaboration(people[0], newcomer)
    later = _recommend(api, people[1])
    assert later["computed"]["model"]["version"] == model["version"]
    assert later["computed"]["model"]["trained_on_revision"] < graph.read(
        lambda tx: tx.run("MATCH (c:Counter {name: 'changes'}) RETURN c.value").single()[0])
    # Every answer has reasons, each a sentence, strongest first.
    for person in people[:10]:
        for item in _recommend(api, person)["items"]:
            assert item["reasons"], item
            assert all(reason["text"] for reason in item["reasons"])
            contributions = [reason["contribution"] for reason in item["reasons"]]
            assert contributions == sorted(contributions, reverse=True)
    # Strategies lean the learned score toward their goal.
    triangles = _recommend(api, people[0], strategy="close_triangles")["computed"]["weights"]
    assert triangles["adamic_adar"] == pytest.approx(model["weights"]["adamic_adar"] + 2.0)


def test_a_small_network_is_ranked_by_the_hand_set_weights(api, new_member, new_collaboration):
    people = [new_member(f"P{i}") for i in range(6)]
    trust = {(0, 1): 5, (1, 2): 4, (0, 5): 3}       # P5-P2 unrated: the path through P5 has no trust
    for a, b in ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (1, 3), (0, 5), (5, 2)):
        new_collaboration(people[a], people[b], trust=trust.get((a, b)))
    body = _train(api)
    assert body["basis"] == "hand-set" and body["model"] is None and "too few ties" in body["reason"]
    answer = _recommend(api, people[0])
    assert answer["computed"]["model"]["basis"] == "hand-set" and answer["computed"]["model"]["version"] is None
    assert answer["computed"]["weights"] == {"adamic_adar": 1.0, "topics": 0.3, "bridging": 0.1, "region": 0.1,
                                             "activities": 0.3, "trust_path": 0.3}
    # P2 shares two collaborators with P0 (P1 and P5), P3 and P4 one each.
    assert [item["member"]["name"] for item in answer["items"]][:1] == ["P2"]
    # The path through P1 is trusted 5 and 4: its lower rating is the path's, and a reason says so.
    first = answer["items"][0]
    assert first["features"]["trust_path"] == pytest.approx(4 / 5)
    assert first["features"]["path_strength"] == pytest.approx(3.0)       # every tie at the default strength
    trusted = [reason for reason in first["reasons"] if reason["type"] == "trusted_path"]
    assert trusted == [{"type": "trusted_path", "members": [{"id": people[1]["id"], "name": "P1"}], "trust": 4,
                        "text": "through P1, trusted 4 of 5 on both sides", "contribution": pytest.approx(0.3 * 0.8)}]
    # P4 is reached through P3 and P5, neither path rated on both sides.
    fourth = next(item for item in answer["items"] if item["member"]["name"] == "P4")
    assert fourth["features"]["trust_path"] == 0.0
    assert "trusted_path" not in [reason["type"] for reason in fourth["reasons"]]


def test_a_model_trained_on_other_features_is_due_again():
    """A model stored by a version with fewer features is retrained, however little the graph changed."""
    from dataclasses import replace

    from service.recommending import ranking

    full = ranking.Model(version=1, revision=100, trained_at="", weights={n: 0.1 for n in ranking.NAMES}, bias=0.0)
    older = replace(full, weights={n: w for n, w in full.weights.items() if n != "trust_path"})
    assert not ranking.due(full, 101, 1000) and ranking.due(older, 101, 1000)
    assert ranking.due(full, 100 + max(ranking.RETRAIN_MIN_CHANGES, 50), 1000)
    assert not ranking.due(older, 101, ranking.MIN_TIES - 1)      # too few ties: nothing to train on


def test_the_ranking_refuses_arguments_it_does_not_take(api):
    response = api.get("/v1/analytics/ranking?retrain=true")
    assert response.status_code == 422
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert "retrain" in [error["field"] for error in response.get_json()["errors"]]


def test_consent_rules_hold_under_a_learned_model(api, loaded):
    people, _ = loaded
    assert _train(api)["basis"] == "learned"
    asking = people[0]
    candidates = [item["member"] for item in _recommend(api, asking)["items"]]
    hidden, declined = candidates[0], candidates[1]
    assert api.patch(f"/v1/members/{hidden['id']}", json={"discoverable": False},
                     headers={"If-Match": _etag(api, hidden)}).status_code == 200
    introduction = api.post("/v1/introductions", json={"member_ids": [asking["id"], declined["id"]]}).get_json()
    assert api.patch(f"/v1/introductions/{introduction['id']}", json={"status": "declined"},
                     headers={"If-Match": '"1"'}).status_code == 200
    for strategy in ("balanced", "close_triangles", "shared_interests", "bridge_silos"):
        answer = _recommend(api, asking, strategy=strategy)
        assert answer["computed"]["model"]["basis"] == "learned"
        names = {item["member"]["id"] for item in answer["items"]}
        assert not names & {hidden["id"], declined["id"], asking["id"]}, strategy


def _etag(api, member):
    return api.get(f"/v1/members/{member['id']}").headers["ETag"]


def test_feedback_moves_the_ranking(api, graph, new_member, new_organization, new_collaboration):
    """Regions and organizations are drawn at random, so the self-supervised model finds little in them.
    Then members decline introductions to people of their own region and accept introductions to people
    of their own organization: once retrained, same-region candidates fall and same-organization
    candidates rise."""
    people, memberships = _load(api, new_member, new_organization, new_collaboration, members=80, seed=11)
    before = _train(api)["model"]
    ranks_before = _ranks(api, people[:20])

    rng = random.Random(3)
    regions = {p["id"]: p["region"] for p in people}
    ids = [p["id"] for p in people]
    answered = 0
    for a in ids[20:]:
        for b in rng.sample(ids[20:], len(ids) - 20):
            if a >= b or _introduced(api, a, b):
                continue
            same_region = regions[a] == regions[b] and not memberships[a] & memberships[b]
            same_organization = memberships[a] & memberships[b] and regions[a] != regions[b]
            if not (same_region or same_organization):
                continue
            created = api.post("/v1/introductions", json={"member_ids": [a, b]})
            if created.status_code != 201:
                continue
            status = "declined" if same_region else "accepted"
            assert api.patch(f"/v1/introductions/{created.get_json()['id']}", json={"status": status},
                             headers={"If-Match": '"1"'}).status_code == 200
            answered += 1
            break
    assert answered >= 30
    after = _train(api)["model"]
    assert after["version"] > before["version"]
    assert after["figures"]["feedback"]["declined"] > 0 and after["figures"]["feedback"]["accepted"] > 0
    assert after["weights"]["region"] < before["weights"]["region"]
    assert after["weights"]["shared_organizations"] > before["weights"]["shared_organizations"]
    ranks_after = _ranks(api, people[:20])
    moved_region = [ranks_after[key] - ranks_before[key] for key in ranks_before
                    if key in ranks_after and key[2] == "region"]
    moved_organization = [ranks_after[key] - ranks_before[key] for key in ranks_before
                          if key in ranks_after and key[2] == "organization"]
    assert sum(moved_region) / len(moved_region) > 0, "same-region candidates should fall (a larger rank)"
    assert sum(moved_organization) / len(moved_organization) < 0, "same-organization candidates should rise"


def _introduced(api, a, b):
    body = api.get(f"/v1/introductions?member_id={a}&limit=100").get_json()
    return any(b in {m["id"] for m in item["members"]} for item in body["items"])


def _ranks(api, people):
    """(asking, candidate, kind) -> position, for candidates that share a region but no organization, or an
    organization but not the region, with the member asking."""
    ranks = {}
    for person in people:
        for position, item in enumerate(_recommend(api, person)["items"]):
            features = item["features"]
            if features["region"] and not features["shared_organizations"]:
                ranks[(person["id"], item["member"]["id"], "region")] = position
            elif features["shared_organizations"] and not features["region"]:
                ranks[(person["id"], item["member"]["id"], "organization")] = position
    return ranks
