"""Analytics behind the job queue: web apps that only read and enqueue, `netweave worker` processes that
compute, a real Redis between them, and the queue's faults (storage down, a worker killed or stopped)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone

import flask
import pytest
import redis

from service import db
from service.cli import seeding
from service.analytics.engine import get_engine
from service.analytics.queue import JOB_KEY, QUEUE_NAME, WAITING_KEY, WAITING_SECONDS
from service.analytics.store import SharedStore, key_of
from service.analytics.worker import REFRESH_KEY, AnalyticsWorker
from service.cli.demo import generate_demo_network
from service.repositories import analytics
from tests.analytics.conftest import NETWEAVE, karate
from tests.conftest import ApiClient, run_test_query
from tests.support import stop

def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout:.0f} s for {what}")


def _ok(response):
    return response if response.status_code == 200 else None


def _run(api: ApiClient, run_id: str) -> dict:
    response = api.get(f"/v1/analytics/runs/{run_id}")
    return response.get_json() if response.status_code == 200 else {}


def _answered(api: ApiClient, path: str, status: int = 200):
    """The answer to `path` once the worker has computed it (a 202 names the run to wait for)."""
    deadline = time.monotonic() + 60
    while True:
        response = api.get(path)
        if response.status_code != 202:
            assert response.status_code == status, (path, response.get_data(as_text=True))
            return response
        assert time.monotonic() < deadline, f"{path} still 202 after 60 s"
        run_id = response.get_json()["id"]
        _wait_for(lambda: _run(api, run_id).get("status") in ("done", "failed"), 60, f"the run of {path}")


def _queued_messages(url: str) -> int:
    return redis.Redis.from_url(url).hlen(f"dramatiq:{QUEUE_NAME}.msgs")


def _load_karate(api: ApiClient) -> None:
    G, _ = karate()
    ids = {}
    for node in G:
        ids[node] = api.post("/v1/members", json={"name": f"{node}"}).get_json()["id"]
    for u, v in G.edges():
        assert api.post("/v1/collaborations", json={"source_id": ids[u], "target_id": ids[v], "kind": "project",
                                                    "strength": 1}).status_code == 201


def _load_demo(graph: db.Graph, members: int) -> None:
    seeding.load(graph, generate_demo_network(seed=11, members=members), 11)


def test_two_web_workers_enqueue_one_job_and_give_byte_identical_answers(web, workers, redis_server, graph):
    first, second = web(), web()
    _load_karate(first)
    asked = first.get("/v1/analytics/bridges")
    again = second.get("/v1/analytics/bridges")
    # No worker yet: both answer 202 with the same run, and one job waits on the queue.
    assert asked.status_code == again.status_code == 202
    run_id = asked.get_json()["id"]
    assert again.get_json()["id"] == run_id and asked.get_json()["status"] == "queued"
    assert _queued_messages(redis_server.url) == 1
    workers()
    _wait_for(lambda: _run(first, run_id).get("status") == "done", 60, "the worker to finish the run")
    answers = [api.get("/v1/analytics/bridges") for api in (first, second)]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].get_data() == answers[1].get_data()
    report = answers[0].get_json()
    assert report["computed"]["run_id"] == run_id and report["brokers"]
    # Recommendations read what the worker wrote back: the same bytes from both, with the cut structure.
    member = report["brokers"][0]["member"]["id"]
    recommended = [api.get(f"/v1/members/{member}/recommendations?strategy=bridge_silos") for api in (first, second)]
    bodies = [response.get_json() for response in recommended]
    # The second serves what the first computed (shared through the queue's Redis).
    assert [body["computed"].pop("cached") for body in bodies] == [False, True]
    for body in bodies:
        body["computed"].pop("took_ms")      # the request's own timing, the one part that may differ
    assert bodies[0] == bodies[1]
    assert all(item["impact"]["around_articulation_points"] is not None
               for item in recommended[0].get_json()["items"])
    # Every other whole-graph answer (the layout, pictures, a cluster's members, reach) comes from the worker
    # too, the same bytes from both web apps.
    cluster = _answered(first, "/v1/analytics/clusters").get_json()["clusters"][0]["id"]
    for path in ("/v1/analytics/layout", "/v1/analytics/map.svg", f"/v1/analytics/map.svg?cluster_id={cluster}",
                 f"/v1/analytics/clusters/{cluster}?limit=5", "/v1/analytics/reach?limit=5&sort=coreness",
                 f"/v1/analytics/map.svg?member_id={member}"):
        bodies = [_answered(api, path).get_data() for api in (first, second)]
        assert bodies[0] == bodies[1], path
    missing = [_answered(api, "/v1/analytics/clusters/00000000-0000-4000-8000-000000000000", 404).get_json()
               for api in (first, second)]
    assert missing[0] == missing[1] and missing[0]["type"].endswith("not-found")
    # Neither web app holds a projection or computed anything itself.
    for api in (first, second):
        engine = get_engine(api.client.application)
        assert not engine._projections and not engine._runs


def test_a_recommendation_one_web_app_computed_is_served_by_another_until_the_next_write(web, redis_server):
    """Answers are shared through the queue's Redis: what one API process computed, another serves at the same
    revision (the same request only); a write makes both compute again; at most
    NETWEAVE_RECOMMENDATION_SHARED_ENTRIES are kept; Redis going away costs the sharing, never the request."""
    from service.repositories import recommendations

    shared = recommendations._SharedAnswers
    first, second = web(), web()
    _load_karate(first)
    members = [m["id"] for m in first.get("/v1/members?limit=4").get_json()["items"]]
    member = members[0]
    path = f"/v1/members/{member}/recommendations?strategy=close_triangles"

    def body(api: ApiClient, url: str = path) -> dict:
        response = api.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    computed = body(first)
    served = body(second)
    assert computed["computed"]["cached"] is False and served["computed"]["cached"] is True
    ranked = [[item["member"]["id"] for item in answer["items"]] for answer in (computed, served)]
    assert ranked[0] and ranked[0] == ranked[1]
    for answer in (computed, served):
        del answer["computed"]["took_ms"], answer["computed"]["cached"]
    assert served == computed
    client = redis.Redis.from_url(redis_server.url)
    names = client.keys(shared.PREFIX + "*")
    assert len(names) == 1 and 0 < client.ttl(names[0]) <= shared.SECONDS
    [index] = client.keys(shared.INDEX + "*")

    # Another strategy, another limit or other weights are other answers: none serves another's.
    other = f"/v1/members/{member}/recommendations?strategy=shared_interests"
    assert body(first, other)["computed"]["cached"] is False
    answer = body(second, other)
    assert answer["computed"]["cached"] is True and answer["strategy"] == "shared_interests"
    assert body(second, other + "&limit=3")["computed"]["cached"] is False
    weighed = web(NETWEAVE_RECOMMENDATION_WEIGHTS='{"close_triangles": {"topics": 9.0}}')
    assert body(weighed)["computed"]["cached"] is False
    assert client.zcard(index) == 4

    # At most NETWEAVE_RECOMMENDATION_SHARED_ENTRIES are kept, the oldest dropped first.
    bounded = web(NETWEAVE_RECOMMENDATION_SHARED_ENTRIES=2)
    for other_member in members[1:4]:
        body(bounded, f"/v1/members/{other_member}/recommendations?strategy=close_triangles")
    kept = set(client.keys(shared.PREFIX + "*"))
    assert len(kept) == 2 and client.zcard(index) == 2
    assert names[0] not in kept                 # the first answer, the oldest, went first
    assert body(second)["computed"]["cached"] is True     # still kept by the second app's process

    # An entry that does not decode (another version's, a corrupt one) is a miss, not a failed request.
    client.set(names[0], b"not an answer")
    assert body(web())["computed"]["cached"] is False

    # A write moves the revision: the shared answer no longer serves, the second app computes.
    assert first.post("/v1/members", json={"name": "Newcomer"}).status_code == 201
    assert body(second)["computed"]["cached"] is False
    assert body(first)["computed"]["cached"] is True         # what the second computed at the new revision

    # Redis away: a third app (nothing kept in its process) still answers, computing; then sharing pauses.
    redis_server.stop()
    try:
        started = time.monotonic()
        third = web()
        assert body(third)["computed"]["cached"] is False
        assert recommendations.SHARED_ANSWERS._paused_until > time.monotonic()
        assert body(web())["computed"]["cached"] is False and time.monotonic() - started < 10
    finally:
        recommendations.SHARED_ANSWERS._paused_until = 0.0
        redis_server.start()


def test_after_writes_settle_the_worker_recomputes_the_newest_shared_answers(web, workers, redis_server, graph):
    """A member's answer is kept in the queue's Redis; a write makes it stale; once the worker has stored the
    default reports for the new revision it recomputes the answer (with the bridge analysis of that revision,
    and the ranking model trained there, whose entry replaces the old model's), and the next ask is served."""
    from service.repositories import recommendations

    shared = recommendations._SharedAnswers
    api = web()
    _load_karate(api)
    member = api.get("/v1/members?limit=1").get_json()["items"][0]["id"]
    path = f"/v1/members/{member}/recommendations?strategy=balanced&limit=5"
    assert api.get(path).get_json()["computed"]["cached"] is False
    client = redis.Redis.from_url(redis_server.url)
    [name] = client.keys(shared.PREFIX + "*")
    [index] = client.keys(shared.INDEX + "*")
    before = recommendations.SHARED_ANSWERS.held(client, name)
    assert before["request"] == {"member_id": member, "strategy": "balanced", "limit": 5, "region": None,
                                 "role": None, "organization_id": None, "exclude_organization_id": None,
                                 "activity_size_cap": 50}
    assert before["answer"]["computed"]["model"]["version"] is None      # no model trained yet
    assert api.post("/v1/members", json={"name": "Newcomer"}).status_code == 201
    revision = graph.read(db.run_one, "change_revision")["revision"]
    assert revision > before["as_of"][0]
    workers()

    def refreshed():
        entries = [recommendations.SHARED_ANSWERS.held(client, n) for n in client.zrevrange(index, 0, -1)]
        return [e for e in entries if e and e["request"]["member_id"] == member and e["as_of"][0] >= revision]
    [entry] = _wait_for(refreshed, 90, "the worker to recompute the stale answer")
    assert client.get(REFRESH_KEY + str(revision)) is not None       # one worker took the revision
    assert "impact" not in entry["answer"]["computed"]                # its bridge analysis was there
    assert entry["answer"]["computed"]["model"]["version"] is not None and not client.exists(name)
    served = web().get(path).get_json()        # a new process: nothing of its own kept
    assert served["computed"]["cached"] is True
    assert [i["member"]["id"] for i in served["items"]] == [i["member"]["id"] for i in entry["answer"]["items"]]


def test_the_worker_computes_the_default_reports_after_writes(web, workers, graph):
    api = web()
    workers()
    _load_karate(api)
    revision = graph.read(db.run_one, "change_revision")["revision"]
    store, scope = SharedStore(graph, 600), analytics.Scope.of(None)
    # Nobody asks (a GET would enqueue a job of its own): the worker's recomputation after the writes
    # settled stores each default report at the current revision.
    for question, params in analytics.DEFAULT_QUESTIONS:
        key = key_of(analytics.question_args(question, scope, params))
        _wait_for(lambda: (store.report(key) or (-1,))[0] >= revision, 60, f"the default {question} report")
    for path in ("/v1/analytics/health", "/v1/analytics/clusters", "/v1/analytics/bridges"):
        answer = api.get(path)
        assert answer.status_code == 200 and answer.get_json()["computed"]["cached"] is True
    assert api.get("/v1/analytics/bridges?limit=3").status_code == 202      # not a default question
    # The ranking of recommendations is trained there too (karate's 78 ties are enough), and served.
    from service.repositories import ranking

    trained = ranking.models(graph)
    assert len(trained) == 1 and trained[0].revision <= revision
    member = api.get("/v1/members?limit=1").get_json()["items"][0]
    answer = api.get(f"/v1/members/{member['id']}/recommendations").get_json()
    assert answer["computed"]["model"]["version"] == trained[0].version


def test_a_worker_raises_survey_closed_for_a_check_in_whose_closes_at_passed(web, workers):
    """Nobody closes the check-in: its closes_at passes, and the worker's poll raises survey.closed (that two
    polls raise it once is tests/service/test_surveys.py's)."""
    api = web()
    now = datetime.now(timezone.utc)
    members = [_created(api.post("/v1/members", json={"name": name})) for name in ("Ada Byron", "Grace Hopper")]
    survey = _created(api.post("/v1/surveys", json={
        "title": "Autumn check-in", "opens_at": (now - timedelta(hours=2)).isoformat(),
        "closes_at": (now + timedelta(days=1)).isoformat(),
        "questions": [{"id": "advice", "type": "names", "prompt": "Who do you go to for advice?",
                       "tie_kind": "advice", "roster": {"all": True}}]}))
    _created(api.post(f"/v1/surveys/{survey['id']}/invitations", json={"member_ids": [m["id"] for m in members]}))
    etag = api.get(f"/v1/surveys/{survey['id']}").headers["ETag"]
    lapsed = api.patch(f"/v1/surveys/{survey['id']}", json={"closes_at": (now - timedelta(minutes=1)).isoformat()},
                       headers={"If-Match": etag})
    assert lapsed.status_code == 200, lapsed.get_json()
    assert api.get("/v1/alerts?kind=survey.closed").get_json()["items"] == []     # no request raises it
    workers()
    raised = _wait_for(lambda: api.get("/v1/alerts?kind=survey.closed").get_json()["items"], 30,
                       "the survey.closed alert")
    assert [(alert["subject"], alert["data"]["closed"]) for alert in raised] == [(survey["id"], "lapsed")]
    assert (raised[0]["data"]["invited"], raised[0]["data"]["responded"]) == (2, 0)


def _created(response):
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_the_worker_computes_a_job_without_a_flask_app(neo4j_settings, redis_server, graph, api):
    _load_karate(api)
    assert not flask.has_app_context()
    config = {**neo4j_settings, "NETWEAVE_QUEUE_URL": redis_server.url}
    worker = AnalyticsWorker(config, graph, name="in-process")
    scope = analytics.Scope.of(None)
    params = dict(analytics.DEFAULT_QUESTIONS)["health"]
    args = analytics.question_args("health", scope, params)
    revision = graph.read(db.run_one, "change_revision")["revision"]
    job = {**analytics.job_of("health", scope, params), "key": key_of(args), "revision": revision, "run_id": "r-1"}
    worker.handle(job)
    stored = worker.store.report(key_of(args))
    assert stored is not None and stored[0] == revision and stored[1]["metrics"]["members"] == 34
    # A job that waited on the queue since that revision, for another question, while the graph moved on:
    # the worker still holds that revision's projection, yet computes at the revision of the moment it
    # starts the job, so the asks that joined the waiting job get their revision.
    assert api.post("/v1/members", json={"name": "Latecomer"}).status_code == 201
    later = graph.read(db.run_one, "change_revision")["revision"]
    params = dict(analytics.DEFAULT_QUESTIONS)["clusters"]
    args = analytics.question_args("clusters", scope, params)
    worker.handle({**analytics.job_of("clusters", scope, params), "key": key_of(args), "revision": revision,
                   "run_id": "r-2"})
    stored = worker.store.report(key_of(args))
    assert stored is not None and stored[0] == later > revision
    worker.stop(5)


def test_queue_storage_down_serves_stored_reports_and_answers_503_for_new_questions(web, workers, redis_server):
    api = web()
    worker = workers()
    _load_karate(api)
    first = _wait_for(lambda: _ok(api.get("/v1/analytics/health")), 60, "the health report")
    stop(worker)
    redis_server.stop()
    # Writes and reads go on; the stored report is served, marked stale once the graph has moved on.
    created = api.post("/v1/members", json={"name": "Newcomer"})
    assert created.status_code == 201
    assert api.get(f"/v1/members/{created.get_json()['id']}").status_code == 200
    stale = api.get("/v1/analytics/health")
    assert stale.status_code == 200 and stale.get_json()["computed"]["stale"] is True
    assert stale.get_json()["computed"]["revision"] == first.get_json()["computed"]["revision"]
    assert stale.get_json()["computed"]["age_seconds"] >= 0
    # A question never answered before cannot be queued: 503 problem+json with Retry-After.
    refused = api.get("/v1/analytics/clusters?limit=3")
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert refused.headers["Retry-After"] and refused.get_json()["type"].endswith("analytics-unavailable")
    # An export of the whole graph is a worker's job too: 503 with Retry-After, naming the queue.
    export = api.get("/v1/export?format=graphml")
    assert export.status_code == 503 and export.headers["Retry-After"]
    assert export.get_json()["type"].endswith("export-unavailable")
    # The storage comes back: the API recovers by itself, and a worker answers again.
    redis_server.start()
    workers()
    answer = _wait_for(lambda: _ok(api.get("/v1/analytics/clusters?limit=3")), 60, "clusters after the queue came back")
    assert answer.get_json()["computed"]["stale"] is False


def test_a_stale_answer_waits_only_in_the_request_that_sent_the_job(web, workers, redis_server):
    api = web(NETWEAVE_ANALYTICS_QUEUE_WAIT_SECONDS=1.5, NETWEAVE_ANALYTICS_SYNC_SECONDS=1.5)
    worker = workers(NETWEAVE_WORKER_DEBOUNCE_SECONDS="3600", NETWEAVE_WORKER_MAX_DELAY_SECONDS="3600")
    _load_karate(api)
    first = _wait_for(lambda: _ok(api.get("/v1/analytics/health")), 60, "the health report")
    _wait_for(lambda: _queued_messages(redis_server.url) == 0, 60, "the queue to empty")
    stop(worker)
    answers = []
    for name in ("Newcomer", "Latecomer"):      # two writes: two revisions past the stored report
        assert api.post("/v1/members", json={"name": name}).status_code == 201
        started = time.monotonic()
        answers.append((api.get("/v1/analytics/health"), time.monotonic() - started))
    (sent, sent_seconds), (joined, joined_seconds) = answers
    assert [a.get_json()["computed"]["stale"] for a, _ in answers] == [True, True]
    assert sent.get_json()["computed"]["revision"] == first.get_json()["computed"]["revision"]
    # The first sent the job and waited for it (no worker runs now); the second found that job waiting,
    # polls it, and answered at once: no web thread held, no second job for the same question.
    assert sent_seconds >= 1.5 and joined_seconds < 1.0, (sent_seconds, joined_seconds)
    assert joined.get_json()["computed"]["run_id"] == sent.get_json()["computed"]["run_id"]
    assert _queued_messages(redis_server.url) == 1
    # A worker takes the waiting job: it reads the graph then, so its report covers the later revision too.
    workers()
    run_id = sent.get_json()["computed"]["run_id"]
    _wait_for(lambda: _run(api, run_id).get("status") == "done", 60, "the worker to finish the run")
    fresh = api.get("/v1/analytics/health").get_json()
    assert fresh["computed"]["stale"] is False and fresh["metrics"]["members"] == 36


def test_pictures_are_drawn_by_the_worker_and_served_as_stored(web, workers, graph):
    api = web()
    worker = workers()
    _load_karate(api)
    layout = _answered(api, "/v1/analytics/layout").get_json()
    stop(worker)
    # The layout the picture is drawn from is stored, but no web worker draws: with no worker, 202 and a run.
    asked = api.get("/v1/analytics/map.png?width=600")
    assert asked.status_code == 202 and asked.get_json()["kind"] == "picture", asked.get_data(as_text=True)
    workers()
    drawn = _answered(api, "/v1/analytics/map.png?width=600")
    assert drawn.mimetype == "image/png" and drawn.get_data().startswith(b"\x89PNG")
    assert drawn.headers["Netweave-Analytics-Revision"] == str(layout["computed"]["revision"])
    assert drawn.headers["Netweave-Analytics-Stale"] == "false"
    # Stored: the same bytes again, and a second web worker serves them too.
    assert api.get("/v1/analytics/map.png?width=600").get_data() == drawn.get_data()
    assert web().get("/v1/analytics/map.png?width=600").get_data() == drawn.get_data()
    # A part that does not exist is refused by the computation, alike everywhere.
    missing = _answered(api, "/v1/analytics/map.svg?cluster_id=00000000-0000-4000-8000-000000000000", 404)
    assert missing.mimetype == "application/problem+json"


def _slow_job(api: ApiClient, graph: db.Graph) -> str:
    """A bridges run that takes seconds (exact betweenness on the 5,000-member demo network): its run id."""
    _load_demo(graph, 5000)
    asked = api.get("/v1/analytics/bridges?limit=5")
    assert asked.status_code == 202
    return asked.get_json()["id"]


SLOW = {"NETWEAVE_ANALYTICS_EXACT_BETWEENNESS_MAX": "50000", "NETWEAVE_WORKER_DEBOUNCE_SECONDS": "3600",
        "NETWEAVE_WORKER_MAX_DELAY_SECONDS": "3600"}


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_completes_on_another_worker(web, workers, graph):
    api = web()
    run_id = _slow_job(api, graph)
    doomed = workers(**SLOW)
    _wait_for(lambda: _run(api, run_id).get("status") == "running", 60, "the first worker to start the run")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    assert _run(api, run_id)["status"] == "running"
    workers(**SLOW)
    done = _wait_for(lambda: (lambda run: run if run.get("status") == "done" else None)(_run(api, run_id)), 120,
                     "the run to complete on the second worker")
    assert done["attempts"] == 2 and "stopped before it finished" in done["note"]
    answer = api.get("/v1/analytics/bridges?limit=5")
    assert answer.status_code == 200 and answer.get_json()["computed"]["run_id"] == run_id
    assert run_test_query(graph, "test_count_reports", kind="bridges") == [{"reports": 1}]


@pytest.mark.slow
def test_a_worker_stopped_with_sigterm_finishes_its_job(web, workers, graph):
    api = web()
    run_id = _slow_job(api, graph)
    worker = workers(**SLOW, NETWEAVE_LOG_LEVEL="info")
    _wait_for(lambda: _run(api, run_id).get("status") == "running", 60, "the worker to start the run")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, worker.stderr.read()
    # Its three consumers share one broker by design: dramatiq's warning about that is not shown to the operator.
    logged = worker.stderr.read()
    assert "middleware of the same type twice" not in logged
    # Every line is JSON, as the API's are (dramatiq's own lines among them).
    lines = [json.loads(line) for line in logged.splitlines() if line.strip()]
    assert {"service.analytics.worker", "dramatiq.worker.Worker"} <= {line["logger"] for line in lines}
    run = _run(api, run_id)
    assert run["status"] == "done" and run["attempts"] == 1
    assert api.get("/v1/analytics/bridges?limit=5").status_code == 200


def test_worker_help_says_how_to_scale_out():
    shown = subprocess.run([NETWEAVE, "worker", "--help"], capture_output=True, text=True, check=True).stdout
    assert "Scaling out" in shown and "NETWEAVE_QUEUE_URL" in shown


def test_a_job_key_expires_so_a_failed_run_can_be_asked_again(redis_server):
    from service.analytics.queue import Queue

    queue = Queue(redis_server.url, time_limit_seconds=60)
    job = {"run_id": "r-2", "question": "health", "key": "k-2"}
    assert queue.submit(job) == ("r-2", True)
    queue.started(job)      # a worker took it: only the run's own key still holds it back
    assert queue.submit(job) == ("r-2", False)
    assert 0 < redis.Redis.from_url(redis_server.url).ttl(JOB_KEY + "r-2") <= 60
    queue.forget("r-2")
    assert queue.submit(job) == ("r-2", True)
    queue.close()


def test_a_question_waiting_on_the_queue_is_not_sent_again_at_a_later_revision(redis_server):
    from service.analytics.queue import Queue

    queue = Queue(redis_server.url, time_limit_seconds=600)
    first = {"run_id": "r-10", "question": "health", "key": "k-3", "revision": 10}
    later = {**first, "run_id": "r-11", "revision": 11}
    other = {"run_id": "o-11", "question": "bridges", "key": "k-4", "revision": 11}
    assert queue.submit(first) == ("r-10", True)
    marks = redis.Redis.from_url(redis_server.url)       # the mark outlives a dead asker briefly, the job key not
    assert 0 < marks.ttl(WAITING_KEY + "k-3") <= WAITING_SECONDS < marks.ttl(JOB_KEY + "r-10") <= 600
    assert queue.submit(later) == ("r-10", False)       # the waiting job answers revision 11 too
    assert queue.submit(other) == ("o-11", True)        # another question is not held back
    queue.started(later)                                # not the waiting run: the mark stays
    assert queue.submit(later) == ("r-10", False)
    queue.started(first)                                # a worker took it: the next revision sends its own
    assert queue.submit(later) == ("r-11", True)
    assert _queued_messages(redis_server.url) == 3
    queue.close()
