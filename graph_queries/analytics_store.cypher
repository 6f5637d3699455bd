// Analytics results and background runs shared by every API worker (each worker also keeps its own
// in-memory cache). Derived data: writing here is not a change (no feed entry, no revision bump).

// name: analytics_report_get
// The stored report for the arguments' key: its revision, body (JSON text) and when it was stored, or no row.
// The body is left out (null) when it is the one stored at $known, which the caller holds decoded already.
MATCH (r:AnalyticsReport {key: $key})
RETURN r.revision AS revision, r.stored_at AS stored_at,
       CASE WHEN $known IS NOT NULL AND r.stored_at = $known THEN null ELSE r.body END AS body

// name: analytics_report_put
// Stores a report for the arguments' key unless one of a later revision is already there.
MERGE (r:AnalyticsReport {key: $key})
ON CREATE SET r.revision = -1
WITH r WHERE r.revision <= $revision
SET r.kind = $kind, r.revision = $revision, r.body = $body, r.stored_at = datetime()
RETURN r.revision AS revision

// name: analytics_run_create
// Records a background run started by this worker.
CREATE (r:AnalyticsRun {id: $id, key: $key, kind: $kind, status: 'running', started_at: $started_at,
                        finished_at: null, error: null})
RETURN r.id AS id

// name: analytics_run_finish
// Marks a run done or failed, and forgets runs that finished more than a day ago; likewise pictures not
// drawn again for a day (a report per size and part asked for, each up to a few MB: without this they
// would pile up) and the scenes stored before pictures were drawn by the worker ('map-part', never read).
MATCH (r:AnalyticsRun {id: $id})
SET r.status = $status, r.finished_at = $finished_at, r.error = $error
WITH count(r) AS marked
CALL () {
    MATCH (old:AnalyticsRun) WHERE old.finished_at < datetime() - duration('P1D')
    WITH old LIMIT 1000
    DELETE old
}
CALL () {
    MATCH (old:AnalyticsReport)
    WHERE old.kind = 'map-part' OR (old.kind = 'picture' AND old.stored_at < datetime() - duration('P1D'))
    WITH old LIMIT 100
    DELETE old
}
RETURN marked

// name: analytics_run_get
// One run by id, or no row.
MATCH (r:AnalyticsRun {id: $id})
RETURN r {.id, .kind, .status, .started_at, .finished_at, .error, .queued_at, .attempts, .worker, .note} AS run

// name: analytics_run_active
// The newest run computing this key that started after $since and is still running, or no row.
MATCH (r:AnalyticsRun {key: $key})
WHERE r.status = 'running' AND r.started_at > $since
RETURN r {.id, .kind, .status, .started_at, .finished_at, .error} AS run
ORDER BY r.started_at DESC
LIMIT 1

// name: analytics_run_queue
// Records a job put on the analytics queue (service/analytics/queue.py); its id is the same in every web
// worker asking the same question at the same revision, so a second record is never made.
MERGE (r:AnalyticsRun {id: $id})
ON CREATE SET r.key = $key, r.kind = $kind, r.status = 'queued', r.queued_at = datetime(), r.started_at = null,
              r.finished_at = null, r.error = null, r.attempts = 0
RETURN r.id AS id

// name: analytics_run_attempt
// A worker starts (another attempt at) a queued run. A run still marked running was left by a worker that
// stopped or died mid-job, whose message the queue delivered again: the note says so.
MERGE (r:AnalyticsRun {id: $id})
ON CREATE SET r.key = $key, r.kind = $kind, r.queued_at = datetime(), r.attempts = 0
WITH r, r.status AS was, coalesce(r.attempts, 0) + 1 AS attempt, r.worker AS before
SET r.attempts = attempt, r.status = 'running', r.started_at = datetime(), r.finished_at = null, r.error = null,
    r.worker = $worker,
    r.note = CASE WHEN was = 'running'
                  THEN 'attempt ' + toString(attempt) + ' on ' + $worker + ': the attempt on ' +
                       coalesce(before, 'another worker') + ' stopped before it finished, and the queue ' +
                       'delivered the job again'
                  ELSE r.note END
RETURN attempt AS attempts

// name: analytics_instance
// This database's id, which names its projection snapshots on disk (null before the first is saved).
OPTIONAL MATCH (i:Instance {name: 'netweave'})
RETURN i.id AS id

// name: analytics_instance_create
// Gives the database its id on first use; a new or wiped database gets a new one, so snapshots of another
// database are never loaded.
MERGE (i:Instance {name: 'netweave'})
ON CREATE SET i.id = randomUUID()
RETURN i.id AS id

// name: analytics_change_at
// The change entry numbered $revision as [resource, id, action, when its transaction committed], or null
// when the feed no longer (or never) had it: what ties a projection snapshot to this database's history.
OPTIONAL MATCH (holder:Change) WHERE holder.seq <= $revision
WITH holder ORDER BY holder.seq DESC LIMIT 1
RETURN CASE WHEN holder IS NOT NULL AND $revision <= holder.last
            THEN [holder.resources[$revision - holder.seq], holder.ids[$revision - holder.seq],
                  holder.actions[$revision - holder.seq], toString(holder.at)]
       END AS entry
