// Network alerts (service/analytics/alerting.py), their thresholds, and the baseline each default report is
// compared with. Alerts are numbered by one counter, locked by the transaction that appends, like the change
// feed's: seq order is commit order and no number is skipped.

// name: alert_emit
// Appends one Alert numbered after the `alerts` counter; returns its seq. The counter's write lock is held to
// commit, so a transaction that appends alerts serialises with every other one that does.
MERGE (counter:Counter {name: 'alerts'})
ON CREATE SET counter.value = 0
SET counter._lock = true
REMOVE counter._lock
WITH counter, counter.value + 1 AS seq
SET counter.value = seq
CREATE (:Alert {seq: seq, id: $id, kind: $kind, at: datetime(), data: $data, subject: $subject})
RETURN seq

// name: alert_after
// The alerts numbered after $after, at most $limit, in seq order; data is the JSON text as stored.
MATCH (a:Alert) WHERE a.seq > $after
WITH a ORDER BY a.seq LIMIT $limit
RETURN a {.seq, .id, .kind, .at, .data, .subject} AS alert
ORDER BY alert.seq

// name: alert_revision
// The seq of the last alert committed (0 before any).
OPTIONAL MATCH (counter:Counter {name: 'alerts'})
RETURN coalesce(counter.value, 0) AS revision

// name: alert_list
// One page of alerts, newest first by seq, optionally of one $kind; $after is the sort key [seq as text] of
// the last alert of the previous page.
MATCH (a:Alert)
WHERE ($after IS NULL OR a.seq < toInteger($after[0])) AND ($kind IS NULL OR a.kind = $kind)
WITH a ORDER BY a.seq DESC LIMIT $limit
RETURN a {.seq, .id, .kind, .at, .data, .subject} AS item, [toString(a.seq)] AS sort_key
ORDER BY a.seq DESC

// name: alert_settings_get
// The stored thresholds (no row before the first PUT).
MATCH (s:AlertSettings {name: 'alerts'})
RETURN s {.cut_point_min_cut_off, .broker_top_k, .silo_ei_threshold, .silo_min_size, .health_metric,
          .health_threshold, .version, .updated_at} AS settings

// name: alert_settings_lock
// Takes the write lock of the thresholds' node (made, at version 0, by the first PUT); returns its version.
MERGE (s:AlertSettings {name: 'alerts'})
ON CREATE SET s.version = 0
SET s._lock = true
REMOVE s._lock
RETURN s.version AS version

// name: alert_settings_put
// Sets every threshold; run after alert_settings_lock. Returns the settings as alert_settings_get does.
MATCH (s:AlertSettings {name: 'alerts'})
SET s += $values, s.version = s.version + 1, s.updated_at = datetime()
RETURN s {.cut_point_min_cut_off, .broker_top_k, .silo_ei_threshold, .silo_min_size, .health_metric,
          .health_threshold, .version, .updated_at} AS settings

// name: alert_baseline_lock
// Takes the write lock of question $question's baseline (made empty on first use); returns the revision and
// digest (JSON text) of the report last compared, revision -1 and digest null before any.
MERGE (b:AlertBaseline {question: $question})
ON CREATE SET b.revision = -1
SET b._lock = true
REMOVE b._lock
RETURN b.revision AS revision, b.digest AS digest

// name: alert_baseline_put
// Keeps the digest of the report just compared as the question's baseline; run after alert_baseline_lock.
MATCH (b:AlertBaseline {question: $question})
SET b.revision = $revision, b.digest = $digest, b.updated_at = datetime()
