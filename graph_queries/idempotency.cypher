// Idempotency records: the first response to (API key, Idempotency-Key), kept for a day.

// name: idempotency_claim
// Finds or creates the record for $scope and takes its write lock; says whether it was created. $claim
// names the request holding it while it runs.
MERGE (r:IdempotencyRecord {scope: $scope})
ON CREATE SET r.fingerprint = $fingerprint, r.state = 'running', r.created_at = datetime(),
              r.lease_until = datetime() + duration({seconds: $lease_seconds}), r._new = true,
              r.claim = $claim
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
    r.lease_until = datetime() + duration({seconds: $lease_seconds}), r.claim = $claim,
    r.status = null, r.body = null, r.headers = null

// name: idempotency_renew
// Extends the lease of a claim while its request runs (the request renews it every third of a lease).
MATCH (r:IdempotencyRecord {scope: $scope})
WHERE r.state = 'running' AND r.claim = $claim
SET r.lease_until = datetime() + duration({seconds: $lease_seconds})
RETURN count(r) AS renewed

// name: idempotency_complete
// Stores the response (in the transaction of the effect, so both commit or neither does), while the claim
// is still this request's: none when another request took it over, and then the effect rolls back.
MATCH (r:IdempotencyRecord {scope: $scope})
WHERE r.claim = $claim AND r.state = 'running'
SET r.state = 'done', r.status = $status, r.body = $body, r.headers = $headers, r.claim = null
RETURN count(r) AS completed

// name: idempotency_release
// Forgets a claim whose request failed before any effect, so a retry can run.
MATCH (r:IdempotencyRecord {scope: $scope})
WHERE r.state = 'running' AND r.claim = $claim
DELETE r

// name: idempotency_purge
// Deletes up to $batch records older than $ttl_seconds.
MATCH (r:IdempotencyRecord)
WHERE r.created_at < datetime() - duration({seconds: $ttl_seconds})
WITH r LIMIT $batch
DELETE r
RETURN count(*) AS purged
