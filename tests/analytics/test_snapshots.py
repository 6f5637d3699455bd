"""Projection snapshots on disk (service/analytics/snapshots.py): a fresh worker starts from the file of
an earlier revision, patched by the change feed, and gets what a whole read gives; a file is never used
for another database, nor when the feed can't bring it up to date."""

from __future__ import annotations

import json
import os
import random
import time

import networkx as nx
import numpy as np
import pytest

from service import db
from service.analytics.snapshots import Snapshots
from service.repositories import analytics as analytics_repo
from service.repositories.analytics import Scope, read_projection
from tests.analytics.conftest import with_settings
from tests.analytics.test_live_projection import Writer, canonical
from tests.conftest import run_test_query


@pytest.fixture
def stored(engine, tmp_path):
    """The engine's snapshots in a directory of this test's own."""
    held = engine.snapshots
    engine.snapshots = Snapshots.at(str(tmp_path / "projections"), every=300.0)
    yield engine.snapshots
    engine.snapshots = held


@pytest.fixture
def whole_reads(monkeypatch):
    reads = []
    whole = analytics_repo.read_projection
    monkeypatch.setattr(analytics_repo, "read_projection", lambda *a: reads.append(a) or whole(*a))
    return reads


def revision_of(graph) -> int:
    return graph.read(db.run_one, "change_revision")["revision"]


@pytest.mark.parametrize("include", [(), ("organizations",)], ids=["members", "with-organizations"])
def test_a_saved_projection_loads_equal_and_patches_like_the_one_in_memory(api, graph, stored, include):
    writer = Writer(api, random.Random(11)).network(organizations=3, members=10, ties=15)
    scope = Scope.of(None, include)
    revision, projection = read_projection(graph, scope)
    writer.round(5)         # ties appended out of igraph's sorted order: the file must keep that order
    revision, projection = analytics_repo.advance(graph, revision, projection, scope.as_of, scope.organizations)
    assert stored.offer(graph, scope.as_of, scope.organizations, revision, projection)

    loaded_revision, loaded = stored.load(graph, scope.as_of, scope.organizations)
    assert loaded_revision == revision and loaded.origin["read"] == "snapshot"
    assert loaded.ids == projection.ids and loaded.cluster_mark == projection.cluster_mark
    assert canonical(loaded) == canonical(projection)      # also checks the edge array is igraph's order
    assert loaded.edges.tolist() == projection.edges.tolist()
    assert loaded.graph.es["weight"] == projection.graph.es["weight"]

    writer.round(6)
    from_file = analytics_repo.advance(graph, loaded_revision, loaded, scope.as_of, scope.organizations)
    assert from_file is not None
    assert canonical(from_file[1]) == canonical(read_projection(graph, scope)[1])


def test_a_fresh_worker_starts_from_the_snapshot_and_answers_as_a_whole_read(api, graph, engine, stored,
                                                                             whole_reads, load_network,
                                                                             new_collaboration):
    ids = load_network(nx.karate_club_graph(), weight="weight")
    first = api.get("/v1/analytics/clusters").get_json()
    engine.wait_idle(timeout=60)        # the answer, its cluster write-back, then the save
    assert first["computed"]["projection"]["read"] == "whole" and len(whole_reads) == 1
    assert list(stored.directory.glob("projection-*.npz"))

    engine.clear()                      # a fresh worker: nothing in memory
    new_collaboration({"id": ids[0]}, {"id": ids[9]})
    new_collaboration({"id": ids[16]}, {"id": ids[25]})
    fresh = api.get("/v1/analytics/health").get_json()
    assert len(whole_reads) == 1, "the fresh worker must start from the file, not read the graph"
    assert fresh["computed"]["projection"]["read"] == "snapshot"
    assert fresh["computed"]["projection"]["changes"] == 2

    scope = Scope.of(None)
    assert canonical(engine.newest_projection(scope)[1]) == canonical(read_projection(graph, scope)[1])
    new_collaboration({"id": ids[2]}, {"id": ids[30]})
    later = api.get("/v1/analytics/health").get_json()["computed"]["projection"]
    assert later["read"] == "patched" and later["changes"] == 1, "after the start, patches as any worker does"
    assert fresh["metrics"]["ties"] == nx.karate_club_graph().number_of_edges() + 2


def test_another_database_never_loads_the_file(api, graph, engine, stored, whole_reads, load_network,
                                                new_collaboration):
    """Same data, same history, another id (a copy of the database, or this one given a new id): the file
    is named by the id, so it is not found."""
    ids = load_network(nx.path_graph(4))
    assert api.get("/v1/analytics/health").status_code == 200
    engine.wait_idle(timeout=30)
    assert len(list(stored.directory.glob("projection-*.npz"))) == 1
    run_test_query(graph, "test_delete_instance")
    new_collaboration({"id": ids[0]}, {"id": ids[3]})
    engine.clear()
    answer = api.get("/v1/analytics/health").get_json()
    assert answer["computed"]["projection"]["read"] == "whole" and len(whole_reads) == 2
    engine.wait_idle(timeout=30)
    assert len(list(stored.directory.glob("projection-*.npz"))) == 2     # one per database id


def test_a_file_the_feed_cannot_bring_up_to_date_falls_back_to_a_whole_read(api, graph, engine, stored,
                                                                          whole_reads, new_member, caplog):
    new_member("Ada")
    assert api.get("/v1/analytics/health").status_code == 200
    engine.wait_idle(timeout=30)
    assert list(stored.directory.glob("projection-*.npz"))
    run_test_query(graph, "test_member_outside_feed", id="outside-the-feed")
    new_member("Grace")
    engine.clear()
    answer = api.get("/v1/analytics/health").get_json()
    assert answer["computed"]["projection"]["read"] == "whole" and len(whole_reads) == 2
    assert answer["metrics"]["members"] == 3
    assert "lost step with the database" in caplog.text     # the file was loaded, and its patch gave up


def test_a_damaged_file_is_ignored(api, graph, engine, stored, whole_reads, new_member, caplog):
    new_member("Ada")
    assert api.get("/v1/analytics/health").status_code == 200
    engine.wait_idle(timeout=30)
    (path,) = stored.directory.glob("projection-*.npz")
    path.write_bytes(path.read_bytes()[:100])
    new_member("Grace")                 # a new revision: the answer is computed, not the stored one
    engine.clear()
    answer = api.get("/v1/analytics/health").get_json()
    assert answer["computed"]["projection"]["read"] == "whole" and answer["metrics"]["members"] == 2
    assert "ignoring the projection snapshot" in caplog.text and "BadZipFile" in caplog.text


def test_a_patched_projection_replaces_only_an_old_file(graph, stored, new_member):
    new_member("Ada")
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    assert stored.offer(graph, scope.as_of, False, revision, projection)
    new_member("Grace")
    revision, patched = analytics_repo.advance(graph, revision, projection, scope.as_of, False)
    assert not stored.offer(graph, scope.as_of, False, revision, patched)     # the file is younger than `every`
    path = file_of(graph, stored, scope)
    old = time.time() - 301
    os.utime(path, (old, old))
    assert stored.offer(graph, scope.as_of, False, revision, patched)
    assert stored.load(graph, scope.as_of, False)[0] == revision == revision_of(graph)


def test_an_unsafe_or_switched_off_directory_means_no_snapshots(tmp_path, caplog):
    assert Snapshots.at("off", 300.0) is None and Snapshots.at("", 300.0) is None
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert Snapshots.at(str(shared), 300.0) is None
    assert "not be writable by others" in caplog.text
    private = Snapshots.at(str(tmp_path / "new" / "dir"), 300.0)
    assert private is not None and (private.directory.stat().st_mode & 0o777) == 0o700


def test_a_file_of_another_history_is_not_loaded(graph, stored, new_member):
    """A database restored from a backup keeps its id but not its history: the change entry at the file's
    revision tells them apart."""
    new_member("Ada")
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    assert stored.offer(graph, scope.as_of, False, revision, projection)
    assert stored.load(graph, scope.as_of, False) is not None
    path = file_of(graph, stored, scope)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays["meta"].tobytes())
    assert meta["provenance"]["last_change"][0] == "member"
    meta["provenance"]["last_change"][1] = "a-member-of-another-history"
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    assert stored.load(graph, scope.as_of, False) is None


def test_no_file_without_a_change_entry_to_tie_it_to_its_history(graph, stored, new_member):
    new_member("Ada")
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    projection.provenance = {**projection.provenance, "last_change": None}    # as when retention purged it
    assert not stored.offer(graph, scope.as_of, False, revision, projection)
    assert not list(stored.directory.glob("projection-*.npz"))


def test_an_empty_network_round_trips(graph, stored, new_organization):
    new_organization("North District")      # a change entry, and no member
    scope = Scope.of(None)
    revision, projection = read_projection(graph, scope)
    assert projection.size == 0
    assert stored.offer(graph, scope.as_of, False, revision, projection)
    loaded_revision, loaded = stored.load(graph, scope.as_of, False)
    assert loaded_revision == revision and loaded.size == 0 and loaded.graph.ecount() == 0


def test_without_live_patching_nothing_is_saved_or_loaded(api, engine, stored, whole_reads, new_member):
    with_settings(engine, live_projection=0)
    new_member("Ada")
    assert api.get("/v1/analytics/health").get_json()["computed"]["projection"]["read"] == "whole"
    engine.wait_idle(timeout=30)
    assert not list(stored.directory.glob("projection-*.npz"))


def file_of(graph, stored: Snapshots, scope: Scope):
    return stored.path(graph.read(db.run_one, "analytics_instance")["id"], scope.as_of, scope.organizations)


def test_past_dates_are_not_saved(api, engine, stored, new_member):
    new_member("Ada")
    assert api.get("/v1/analytics/health?as_of=2020-01-01").status_code == 200
    engine.wait_idle(timeout=30)
    assert not list(stored.directory.glob("projection-*.npz"))
    assert api.get("/v1/analytics/health").status_code == 200
    engine.wait_idle(timeout=30)
    assert len(list(stored.directory.glob("projection-*.npz"))) == 1
