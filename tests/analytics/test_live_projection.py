"""The projection kept current from the change feed (service/analytics/live.py) equals a whole read.

Random writes of every kind go through the API; after each round the patched projection is compared with
the projection read whole from the same database: same parties with the same attributes, same ties with the
same summed weights.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from service import db
from service.analytics import live
from service.analytics.projection import Projection
from service.repositories import analytics as analytics_repo
from service.repositories.analytics import Scope, read_projection
from tests.analytics.conftest import with_settings
from tests.conftest import run_test_query

TODAY = date.today()
REGIONS = ["north", "south", None]
TOPICS = ["literacy", "math", "equity", "coaching"]


def canonical(projection: Projection) -> tuple[dict, dict]:
    """(party id -> attributes, {party ids} -> weight): independent of vertex order."""
    parties = {party: (projection.kinds[i], projection.regions[i], projection.roles[i],
                       sorted(projection.topics[i]), sorted(projection.organizations[i]),
                       projection.previous_clusters[i] if projection.previous_clusters else None)
               for i, party in enumerate(projection.ids)}
    ties = {frozenset((projection.ids[e.source], projection.ids[e.target])): e["weight"]
            for e in projection.graph.es}
    assert projection.graph.vcount() == len(projection.ids)
    assert projection.graph.is_simple()
    # The edge array a patch derives from its base's is igraph's own, in igraph's order.
    assert projection.edges.tolist() == [list(pair) for pair in projection.graph.get_edgelist()]
    return parties, ties


class Writer:
    """Random writes through the API, remembering what exists so that most of them succeed."""

    def __init__(self, api, rng: random.Random):
        self.api, self.rng = api, rng
        self.members: list[str] = []
        self.organizations: list[str] = []
        self.ties: list[str] = []
        self.affiliations: set[tuple[str, str]] = set()

    def ok(self, response, *codes):
        assert response.status_code in codes, response.get_data(as_text=True)
        return response.get_json() if response.status_code != 204 else None

    def member(self):
        rng = self.rng
        body = {"name": f"m{len(self.members)}-{rng.random():.6f}", "region": rng.choice(REGIONS),
                "topics": rng.sample(TOPICS, rng.randint(0, 2)), "role": rng.choice(["teacher", "coach"])}
        self.members.append(self.ok(self.api.post("/v1/members", json=body), 201)["id"])

    def organization(self):
        body = {"name": f"o{len(self.organizations)}-{self.rng.random():.6f}", "region": self.rng.choice(REGIONS)}
        self.organizations.append(self.ok(self.api.post("/v1/organizations", json=body), 201)["id"])

    def tie(self):
        rng = self.rng
        parties = self.members + self.organizations[:2]
        a, b = rng.sample(parties, 2)
        body = {"source_id": a, "target_id": b, "kind": "project", "strength": rng.randint(1, 5)}
        when = rng.random()
        if when < 0.15:
            body["ended_on"] = (TODAY - timedelta(days=3)).isoformat()     # not active today
        elif when < 0.25:
            body["started_on"] = (TODAY + timedelta(days=3)).isoformat()   # not yet active
        self.ties.append(self.ok(self.api.post("/v1/collaborations", json=body), 201)["id"])

    def _patch(self, path: str, body: dict):
        etag = self.api.get(path).headers["ETag"]
        self.ok(self.api.patch(path, json=body, headers={"If-Match": etag}), 200)

    def _delete(self, path: str, **query):
        etag = self.api.get(path).headers["ETag"]
        self.ok(self.api.delete(path, query_string=query, headers={"If-Match": etag}), 204)

    def patch_member(self):
        rng = self.rng
        self._patch(f"/v1/members/{rng.choice(self.members)}",
                    {"region": rng.choice(["east", "west"]), "topics": rng.sample(TOPICS, 2)})

    def patch_tie(self):
        body = ({"strength": self.rng.randint(1, 5)} if self.rng.random() < 0.6
                else {"ended_on": (TODAY - timedelta(days=1)).isoformat()})
        self._patch(f"/v1/collaborations/{self.rng.choice(self.ties)}", body)

    def delete_tie(self):
        tie = self.ties.pop(self.rng.randrange(len(self.ties)))
        self._delete(f"/v1/collaborations/{tie}")

    def delete_member(self):
        member = self.members.pop(self.rng.randrange(len(self.members)))
        self._delete(f"/v1/members/{member}")
        self.affiliations = {pair for pair in self.affiliations if pair[0] != member}
        self._forget_ties()

    def delete_organization(self):
        organization = self.organizations.pop(self.rng.randrange(2, len(self.organizations)))
        self._delete(f"/v1/organizations/{organization}", cascade="true")
        self.affiliations = {pair for pair in self.affiliations if pair[1] != organization}
        self._forget_ties()

    def affiliate(self):
        pair = (self.rng.choice(self.members), self.rng.choice(self.organizations))
        self.ok(self.api.put(f"/v1/members/{pair[0]}/affiliations/{pair[1]}", json={"role": "member"}), 200, 201)
        self.affiliations.add(pair)

    def unaffiliate(self):
        if self.affiliations:
            pair = self.rng.choice(sorted(self.affiliations))
            self.affiliations.discard(pair)
            self.ok(self.api.delete(f"/v1/members/{pair[0]}/affiliations/{pair[1]}"), 204)

    def _forget_ties(self):
        alive = {row["id"] for row in self.api.get("/v1/collaborations?limit=100").get_json()["items"]}
        assert len(alive) < 100
        self.ties = [tie for tie in self.ties if tie in alive]

    def network(self, organizations: int, members: int, ties: int) -> "Writer":
        for _ in range(organizations):
            self.organization()
        for _ in range(members):
            self.member()
        for _ in range(ties):
            self.tie()
        return self

    def round(self, writes: int):
        actions = [self.member, self.tie, self.tie, self.tie, self.patch_member, self.patch_tie, self.delete_tie,
                   self.affiliate, self.unaffiliate, self.delete_member, self.organization]
        for _ in range(writes):
            action = self.rng.choice(actions)
            if action in (self.delete_tie, self.patch_tie) and not self.ties:
                action = self.tie
            if action == self.delete_member and len(self.members) < 6:
                action = self.member
            action()
        if len(self.organizations) > 3 and self.rng.random() < 0.3:
            self.delete_organization()


@pytest.mark.parametrize("chunk", [1, 7, analytics_repo.PROJECTION_CHUNK])
def test_a_whole_read_names_each_tie_once_whatever_its_records(graph, load_network, monkeypatch, chunk):
    """The statement sends parties in records of `chunk`; a tie names its other party by internal node id,
    whichever record that party is in."""
    import networkx as nx

    monkeypatch.setattr(analytics_repo, "PROJECTION_CHUNK", chunk)
    G = nx.karate_club_graph()
    ids = load_network(G)
    projection = read_projection(graph, Scope.of(None))[1]
    assert projection.graph.vcount() == G.number_of_nodes()        # no party twice, none missing
    assert projection.graph.ecount() == G.number_of_edges()
    parties, ties = canonical(projection)
    assert set(parties) == set(ids.values())
    assert ties == {frozenset((ids[u], ids[v])): 1 for u, v in G.edges()}


@pytest.mark.parametrize("include", [(), ("organizations",)], ids=["members", "with-organizations"])
def test_patched_projection_equals_a_whole_read_after_random_writes(api, graph, include, monkeypatch):
    # Records of 5 parties: the whole read's ties cross records (the patch reads parties one by one).
    monkeypatch.setattr(analytics_repo, "PROJECTION_CHUNK", 5)
    rng = random.Random(7 + len(include))
    writer = Writer(api, rng).network(organizations=4, members=12, ties=20)
    scope = Scope.of(None, include)
    revision, projection = read_projection(graph, scope)
    for _ in range(8):
        writer.round(rng.randint(1, 6))
        advanced = analytics_repo.advance(graph, revision, projection, scope.as_of, scope.organizations)
        assert advanced is not None, "the feed since the base is complete: the patch must not give up"
        revision, projection = advanced
        whole_revision, whole = read_projection(graph, scope)
        assert revision == whole_revision
        assert canonical(projection) == canonical(whole)


def test_no_change_returns_the_base_itself(graph, new_member):
    new_member()
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    assert analytics_repo.advance(graph, revision, projection, scope.as_of, False) == (revision, projection)


def test_written_back_cluster_ids_reach_the_patched_projection(api, graph, engine, load_network,
                                                                new_collaboration):
    import networkx as nx

    ids = load_network(nx.barbell_graph(5, 1))
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    assert set(projection.previous_clusters) == {None}
    assert api.get("/v1/analytics/clusters").status_code == 200
    engine.wait_idle(timeout=30)        # the write-back runs after the answer
    # The engine's projection holds what it wrote, under the counter its batches reached: no re-read needed.
    held = engine.newest_projection(scope)[1]
    assert held.cluster_mark == run_test_query(graph, "test_counter_value", counter="clusters")[0]["value"] > 0
    fresh = read_projection(graph, scope)[1]
    assert dict(zip(held.ids, held.previous_clusters)) == dict(zip(fresh.ids, fresh.previous_clusters))
    new_collaboration({"id": ids[0]}, {"id": ids[10]})
    revision, patched = analytics_repo.advance(graph, revision, projection, scope.as_of, False)
    assert canonical(patched) == canonical(read_projection(graph, scope)[1])
    assert None not in patched.previous_clusters


def test_a_write_outside_the_feed_makes_the_patch_give_up(graph, new_member):
    new_member()
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    run_test_query(graph, "test_member_outside_feed", id="outside-the-feed")
    new_member("Grace Hopper")      # a change in the feed, so there is something to patch
    assert analytics_repo.advance(graph, revision, projection, scope.as_of, False) is None


def test_the_engine_patches_instead_of_reading_whole_after_a_write(api, engine, monkeypatch, load_network,
                                                                    new_collaboration):
    import networkx as nx

    reads = []
    whole = analytics_repo.read_projection
    monkeypatch.setattr(analytics_repo, "read_projection", lambda *a: reads.append(a) or whole(*a))
    ids = load_network(nx.karate_club_graph())
    first = api.get("/v1/analytics/health").get_json()
    new_collaboration({"id": ids[0]}, {"id": ids[9]})
    second = api.get("/v1/analytics/health").get_json()
    assert len(reads) == 1
    assert first["computed"]["projection"]["read"] == "whole"
    assert second["computed"]["projection"] == {"read": "patched", "changes": 1,
                                                "seconds": second["computed"]["projection"]["seconds"]}
    assert second["computed"]["revision"] > first["computed"]["revision"]
    assert second["metrics"]["ties"] == first["metrics"]["ties"] + 1

    with_settings(engine, live_projection=0)
    new_collaboration({"id": ids[1]}, {"id": ids[9]})
    third = api.get("/v1/analytics/health").get_json()
    assert len(reads) == 2 and third["metrics"]["ties"] == second["metrics"]["ties"] + 1
    assert third["computed"]["projection"]["read"] == "whole"


def test_sync_upserts_and_tombstones_are_patched_too(api, graph):
    def sync(resource, records):
        response = api.post(f"/v1/sync/{resource}", json={"source": "hubspot", "records": records})
        assert response.status_code == 200, response.get_data(as_text=True)

    sync("organizations", [{"external_id": "o1", "name": "North District"}])
    sync("members", [{"external_id": f"m{i}", "name": f"M{i}", "region": "north", "organizations": ["o1"]}
                     for i in range(6)])
    sync("collaborations", [{"external_id": f"c{i}", "source_external_id": f"m{i}",
                             "target_external_id": f"m{(i + 1) % 6}", "kind": "project", "strength": 2}
                            for i in range(6)])
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    sync("collaborations", [{"external_id": "c0", "deleted": True},
                            {"external_id": "c1", "source_external_id": "m1", "target_external_id": "m2",
                             "kind": "project", "strength": 5},
                            {"external_id": "c9", "source_external_id": "m0", "target_external_id": "m3",
                             "kind": "project"}])
    sync("members", [{"external_id": "m4", "deleted": True}, {"external_id": "m5", "name": "M5", "region": "south"}])
    sync("organizations", [{"external_id": "o1", "deleted": True}])
    advanced = analytics_repo.advance(graph, revision, projection, scope.as_of, False)
    assert advanced is not None, "every deleted tie's parties are in the feed: no whole read needed"
    assert canonical(advanced[1]) == canonical(read_projection(graph, scope)[1])


def test_a_patched_worker_and_a_fresh_one_find_the_same_clusters(api, graph, engine, load_network,
                                                                 new_collaboration):
    """Leiden starts from the cluster ids written back onto the members, which every worker reads the same."""
    import networkx as nx

    from service.analytics import clusters as clusters_module
    from service.repositories.analytics import DEFAULT_RESOLUTION, cluster_analysis

    ids = load_network(nx.les_miserables_graph(), weight="weight")
    assert api.get("/v1/analytics/clusters").status_code == 200
    engine.wait_idle(timeout=60)
    new_collaboration({"id": ids["Napoleon"]}, {"id": ids["Valjean"]})
    scope = Scope.of(None)
    revision = graph.read(db.run_one, "change_revision")["revision"]
    patched = cluster_analysis(engine, graph, revision, scope, DEFAULT_RESOLUTION)
    assert patched.projection.origin["read"] == "patched"
    fresh = read_projection(graph, scope)[1]
    assert None not in fresh.previous_clusters      # the start the fresh worker reads
    clustering = clusters_module.leiden(fresh, resolution=DEFAULT_RESOLUTION, seed=engine.settings.seed)

    def partition(projection, membership):
        return {frozenset(projection.ids[v] for v in range(projection.size) if membership[v] == c)
                for c in set(membership)}

    assert partition(patched.projection, patched.clustering.membership) == partition(fresh, clustering.membership)


def test_the_parties_change_entries_touch_are_read_off_the_entries_without_the_database():
    entries = [
        {"resource": "member", "id": "m1", "parties": None},
        {"resource": "organization", "id": "o1", "parties": None},
        {"resource": "affiliation", "id": "m2/o1", "parties": None},
        {"resource": "collaboration", "id": "c1", "parties": ["m3", "m4"]},
        {"resource": "collaboration", "id": "c2", "parties": None},     # an entry older than `parties`
        {"resource": "introduction", "id": "i1", "parties": None},
    ]
    assert live.touched_parties(entries, organizations=False) == ({"m1", "m2", "m3", "m4"}, {"c2"})
    assert live.touched_parties(entries, organizations=True) == ({"m1", "o1", "m2", "m3", "m4"}, {"c2"})
    # A later entry of the same collaboration that names its parties is enough.
    named = entries + [{"resource": "collaboration", "id": "c2", "parties": ["m5", "m6"]}]
    assert live.touched_parties(named, organizations=False) == ({"m1", "m2", "m3", "m4", "m5", "m6"}, set())
