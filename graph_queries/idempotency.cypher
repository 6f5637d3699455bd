// Idempotency records: the first response to (API key, Idempotency-Key), kept for a day.

// name: idempotency_claim
// Finds or creates the record for $scope and takes its write lock; says whether it was created.
MERGE (r:IdempotencyRecord {scope: $scope})
ON CREATE SET r.fingerprint = $fingerprint, r.state = 'running', r.created_at = datetime(),
              r.lease_until = datetime() + duration({seconds: $lease_seconds}), r._new = true
SET r._lock = true
REMOVE r._lock
WITH r, coalesce(r._new, false) AS created
REMOVE r._new
RETURN created, r.fingerprint AS fingerprint, r.state AS state,
       r.created_at < datetime() - duration({seconds: $ttl_seconds}) AS expired,
       r.lease_until < datetime() AS lease_over,
       r.status AS status, r.body AS body, r.headers AS headers

// name: idempotency_take_over
// Restarts an expired record, or one whose first request died while running, for a new request.
MATCH (r:IdempotencyRecord {scope: $scope})
SET r.fingerprint = $fingerprint, r.state = 'running', r.created_at = datetime(),
    r.lease_until = datetime() + duration({seconds: $lease_seconds}),
    r.status = null, r.body = null, r.headers = null

// name: idempotency_complete
// Stores the response (in the transaction of the effect, so both commit or neither does).
MATCH (r:IdempotencyRecord {scope: $scope})
SET r.state = 'done', r.status = $status, r.body = $body, r.headers = $headers

// name: idempotency_release
// Forgets a claim whose request failed before any effect, so a retry can run.
MATCH (r:IdempotencyRecord {scope: $scope})
WHERE r.state = 'running'
DELETE r

// name: idempotency_purge
// Deletes up to $batch records older than $ttl_seconds.
MATCH (r:IdempotencyRecord)
WHERE r.created_at < datetime() - duration({seconds: $ttl_seconds})
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS purged
