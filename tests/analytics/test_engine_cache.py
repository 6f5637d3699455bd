"""The engine's per-revision cache keeps the newest revision of each question, not one per revision."""

from __future__ import annotations

from service.analytics.engine import Engine, Settings


def _engine() -> Engine:
    return Engine(Settings.load({"NETWEAVE_ANALYTICS_SNAPSHOT_DIR": "off"}, environ={}))


def test_a_newer_revision_of_an_analysis_replaces_the_older_and_leaves_other_questions_alone():
    engine = _engine()
    computed = []

    def analysis(label):
        def compute():
            computed.append(label)
            return label
        return compute

    engine.memo(("clusters", 1, "today", 1.0), analysis("clusters@1"))
    engine.memo(("clusters", 1, "2020-01-01", 1.0), analysis("clusters@1 as of 2020"))
    engine.memo(("bridges", 1, "today"), analysis("bridges@1"))
    engine.memo(("clusters", 2, "today", 1.0), analysis("clusters@2"))

    assert engine.peek(("clusters", 1, "today", 1.0)) is None
    assert engine.peek(("clusters", 2, "today", 1.0)) == "clusters@2"
    assert engine.peek(("clusters", 1, "2020-01-01", 1.0)) == "clusters@1 as of 2020"   # another scope
    assert engine.peek(("bridges", 1, "today")) == "bridges@1"                          # another question
    # A request still at revision 1 computes it again rather than finding nothing.
    assert engine.memo(("clusters", 1, "today", 1.0), analysis("again")) == "again"
    assert computed == ["clusters@1", "clusters@1 as of 2020", "bridges@1", "clusters@2", "again"]
    # ...and that older value does not push out the newer one.
    assert engine.peek(("clusters", 2, "today", 1.0)) == "clusters@2"


def test_a_report_at_a_newer_revision_replaces_the_older_in_the_cache_but_stays_the_last_good():
    engine = _engine()
    engine._remember((1, "health", "today"), ("health", "today"), {"revision": 1})
    engine._remember((2, "health", "today"), ("health", "today"), {"revision": 2})
    engine._remember((1, "bridges", "today"), ("bridges", "today"), {"revision": 1})
    assert (1, "health", "today") not in engine._cache
    assert engine._cache[(2, "health", "today")] == {"revision": 2}
    assert engine._cache[(1, "bridges", "today")] == {"revision": 1}
    assert engine._last_good[("health", "today")] == {"revision": 2}


def test_closing_the_graph_lets_its_engine_finish_queued_write_backs_before_the_driver_closes():
    import time

    import neo4j

    from service import db
    from service.analytics.engine import get_engine

    driver = neo4j.GraphDatabase.driver("bolt://127.0.0.1:1")     # never connects: nothing here queries
    graph = db.Graph(driver, "neo4j", config={"NETWEAVE_ANALYTICS_SNAPSHOT_DIR": "off"})
    engine = get_engine(graph)
    assert get_engine(graph) is engine                            # one engine per graph
    order = []
    engine.after(lambda: (time.sleep(0.3), order.append("write-back")))
    real_close = driver.close
    driver.close = lambda: (order.append("driver"), real_close())
    graph.close()
    assert order == ["write-back", "driver"]
    assert graph.extensions == {}
