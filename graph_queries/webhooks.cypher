// Webhook endpoints and their deliveries. An endpoint follows two numbered streams, the change feed
// (`cursor`: the last change seq it was sent or passed over) and the alerts (`alert_cursor`); a delivery
// holds the next events of one stream, its body fixed when it is made, so every attempt sends the same
// webhook-id and bytes. An endpoint has at most one delivery under way (`pending`): the next one is made
// only once it was accepted, which keeps each endpoint's events in order.

// name: webhook_sealing_key
// The key webhook secrets are sealed under when NETWEAVE_WEBHOOK_KEY is not set: made once from $candidate.
MERGE (k:Instance {name: 'netweave-webhook-secrets'})
ON CREATE SET k.secret = $candidate
RETURN k.secret AS secret

// name: webhook_create
// A new endpoint; it hears of the changes and alerts committed after this transaction.
OPTIONAL MATCH (changes:Counter {name: 'changes'})
OPTIONAL MATCH (alerts:Counter {name: 'alerts'})
CREATE (w:Webhook {id: $id, url: $url, events: $events, description: $description, secret: $secret,
                   pii: $pii, external_ids: $external_ids, enabled: true, version: 1,
                   created_at: datetime(), updated_at: datetime(), created_by: $created_by,
                   cursor: coalesce(changes.value, 0), alert_cursor: coalesce(alerts.value, 0), failures: 0})
RETURN w.id AS id

// name: webhook_get
// One endpoint as the API shows it (never its secrets), or no row.
MATCH (w:Webhook {id: $id})
RETURN w {.id, .url, .events, .description, .pii, .enabled, .disabled_reason, .version, .created_at,
          .updated_at, .cursor, .alert_cursor, .pending, .next_attempt_at, .failing_since, .failures,
          .previous_secret_until} AS webhook

// name: webhook_list
// One page of endpoints ordered by (created_at, id) after the cursor; returns item and sort_key.
MATCH (w:Webhook)
WHERE $after IS NULL OR w.created_at > datetime($after[0])
   OR (w.created_at = datetime($after[0]) AND w.id > $after[1])
WITH w ORDER BY w.created_at, w.id LIMIT $limit
RETURN w {.id, .url, .events, .description, .pii, .enabled, .disabled_reason, .version, .created_at,
          .updated_at, .cursor, .alert_cursor, .pending, .next_attempt_at, .failing_since, .failures,
          .previous_secret_until} AS item,
       [toString(w.created_at), w.id] AS sort_key

// name: webhook_lock
// Takes the endpoint's write lock; returns its version, or no row.
MATCH (w:Webhook {id: $id})
SET w._lock = true
REMOVE w._lock
RETURN w.version AS version

// name: webhook_update
// Applies $changes; re-enabling an endpoint clears its failures, so delivery starts again at once.
MATCH (w:Webhook {id: $id})
SET w += $changes,
    w.version = w.version + 1,
    w.updated_at = datetime()
FOREACH (_ IN CASE WHEN $changes.enabled = true THEN [1] ELSE [] END |
    SET w.disabled_reason = null, w.failures = 0, w.failing_since = null, w.next_attempt_at = null)
RETURN w.id AS id

// name: webhook_rotate
// A new secret; the old one keeps signing beside it until $until.
MATCH (w:Webhook {id: $id})
SET w.previous_secret = w.secret,
    w.previous_secret_until = $until,
    w.secret = $secret,
    w.version = w.version + 1,
    w.updated_at = datetime()
RETURN w.id AS id

// name: webhook_delete
// Deletes the endpoint and its deliveries (up to $batch; run until it returns 0 after the endpoint).
OPTIONAL MATCH (w:Webhook {id: $id})
DETACH DELETE w
WITH count(w) AS endpoints
CALL (endpoints) {
    MATCH (d:WebhookDelivery {webhook_id: $id})
    WITH d LIMIT $batch
    DETACH DELETE d
    RETURN count(*) AS deliveries
}
RETURN endpoints, deliveries

// name: webhook_state
// What a delivery run needs of an endpoint: everything, secrets (sealed) included, and the heads of the
// two streams it follows.
MATCH (w:Webhook {id: $id})
OPTIONAL MATCH (changes:Counter {name: 'changes'})
OPTIONAL MATCH (alerts:Counter {name: 'alerts'})
RETURN w {.*} AS webhook, coalesce(changes.value, 0) AS changes_head, coalesce(alerts.value, 0) AS alerts_head,
       coalesce(changes.purged_through, 0) AS changes_floor, datetime() AS now

// name: webhook_due
// The enabled endpoints with something to send and no backoff to wait out: a delivery under way, a
// stream ahead of their cursor, or a delivery asked to be sent again.
OPTIONAL MATCH (changes:Counter {name: 'changes'})
OPTIONAL MATCH (alerts:Counter {name: 'alerts'})
WITH coalesce(changes.value, 0) AS changes_head, coalesce(alerts.value, 0) AS alerts_head
MATCH (w:Webhook)
WHERE w.enabled AND (w.next_attempt_at IS NULL OR w.next_attempt_at <= datetime())
  AND (w.pending IS NOT NULL OR w.cursor < changes_head OR w.alert_cursor < alerts_head OR w.replays > 0)
RETURN w.id AS id

// name: webhook_pass
// Moves a stream's cursor from $from_cursor to $seq past entries none of which the endpoint listens to: only
// while no delivery is under way and the cursor is still where the caller read it (the endpoint's lock is
// taken first, so two runs cannot both pass or store from one position).
MATCH (w:Webhook {id: $id})
SET w._lock = true
REMOVE w._lock
WITH w WHERE w.pending IS NULL
  AND CASE $stream WHEN 'changes' THEN w.cursor ELSE w.alert_cursor END = $from_cursor
SET w.cursor = CASE WHEN $stream = 'changes' AND $seq > w.cursor THEN $seq ELSE w.cursor END,
    w.alert_cursor = CASE WHEN $stream = 'alerts' AND $seq > w.alert_cursor THEN $seq ELSE w.alert_cursor END
RETURN w.id AS id

// name: delivery_create
// A delivery of a stream's events $first_seq..$last_seq, made the endpoint's delivery under way. The
// endpoint's lock is taken first, then it is checked that no delivery is under way and that the stream's
// cursor is still $from_cursor, where the events were read from: no row when another run moved on meanwhile.
MATCH (w:Webhook {id: $webhook_id})
SET w._lock = true
REMOVE w._lock
WITH w WHERE w.pending IS NULL
  AND CASE $stream WHEN 'changes' THEN w.cursor ELSE w.alert_cursor END = $from_cursor
CREATE (d:WebhookDelivery {id: $id, webhook_id: $webhook_id, stream: $stream, first_seq: $first_seq,
                           last_seq: $last_seq, event_count: $event_count, event_types: $event_types,
                           body: $body, status: 'pending', attempts: 0, attempt_at: [], codes: [], errors: [],
                           seconds: [], created_at: datetime()})
SET w.pending = d.id
RETURN d.id AS id

// name: delivery_body
// What an attempt sends: the delivery's id, body and stream range, or no row.
MATCH (d:WebhookDelivery {id: $id, webhook_id: $webhook_id})
RETURN d {.id, .body, .stream, .first_seq, .last_seq, .status, .replay} AS delivery

// name: delivery_attempted
// Records one attempt (the endpoint's and the delivery's locks taken before anything is read). Accepted: the delivery is done, the endpoint's cursor moves past its events and its
// failures are cleared (a replay of a done delivery moves nothing). Refused: the endpoint waits until
// $next_attempt_at, or is disabled with $disable (a reason) when it kept failing too long.
MATCH (w:Webhook {id: $webhook_id})
MATCH (d:WebhookDelivery {id: $id, webhook_id: $webhook_id})
SET w._lock = true, d._lock = true
REMOVE w._lock, d._lock
WITH w, d, coalesce(d.replay, false) AS replay, coalesce(w.pending = d.id, false) AS under_way,
     w.enabled AS was_enabled
SET d.attempts = d.attempts + 1,
    d.attempt_at = d.attempt_at + [datetime()],
    d.codes = d.codes + [coalesce($code, -1)],
    d.errors = d.errors + [coalesce($error, '')],
    d.seconds = d.seconds + [$seconds],
    d.replay = null
FOREACH (_ IN CASE WHEN replay THEN [1] ELSE [] END |
    SET w.replays = CASE WHEN coalesce(w.replays, 0) > 0 THEN w.replays - 1 ELSE 0 END)
FOREACH (_ IN CASE WHEN $ok THEN [1] ELSE [] END |
    SET d.status = 'delivered', d.delivered_at = coalesce(d.delivered_at, datetime()))
FOREACH (_ IN CASE WHEN $ok AND under_way THEN [1] ELSE [] END |
    SET w.pending = null, w.failures = 0, w.failing_since = null, w.next_attempt_at = null,
        w.cursor = CASE WHEN d.stream = 'changes' AND d.last_seq > w.cursor THEN d.last_seq ELSE w.cursor END,
        w.alert_cursor = CASE WHEN d.stream = 'alerts' AND d.last_seq > w.alert_cursor THEN d.last_seq
                              ELSE w.alert_cursor END)
FOREACH (_ IN CASE WHEN NOT $ok AND under_way THEN [1] ELSE [] END |
    SET w.failures = w.failures + 1, w.failing_since = coalesce(w.failing_since, datetime()),
        w.next_attempt_at = $next_attempt_at)
FOREACH (_ IN CASE WHEN NOT $ok AND under_way AND $disable IS NOT NULL THEN [1] ELSE [] END |
    SET w.enabled = false, w.disabled_reason = $disable, d.status = 'failed')
RETURN w.failures AS failures, w.enabled AS enabled, was_enabled AND NOT w.enabled AS disabled_now,
       duration.inSeconds(coalesce(w.failing_since, datetime()), datetime()).seconds AS failing_seconds

// name: delivery_get
// One delivery of an endpoint as the API shows it, or no row.
MATCH (d:WebhookDelivery {id: $id, webhook_id: $webhook_id})
RETURN d {.id, .webhook_id, .stream, .first_seq, .last_seq, .event_count, .event_types, .status, .attempts,
          .created_at, .delivered_at, .replay,
          attempt_list: [i IN range(0, size(d.codes) - 1) |
                         {at: d.attempt_at[i], status_code: CASE WHEN d.codes[i] >= 0 THEN d.codes[i] END,
                          error: CASE WHEN d.errors[i] <> '' THEN d.errors[i] END, seconds: d.seconds[i]}]
         } AS delivery

// name: delivery_list
// One page of an endpoint's deliveries, newest first, after the cursor; returns item and sort_key.
MATCH (d:WebhookDelivery {webhook_id: $webhook_id})
WHERE $after IS NULL OR d.created_at < datetime($after[0])
   OR (d.created_at = datetime($after[0]) AND d.id < $after[1])
WITH d ORDER BY d.created_at DESC, d.id DESC LIMIT $limit
RETURN d {.id, .webhook_id, .stream, .first_seq, .last_seq, .event_count, .event_types, .status, .attempts,
          .created_at, .delivered_at, .replay,
          attempt_list: [i IN range(0, size(d.codes) - 1) |
                         {at: d.attempt_at[i], status_code: CASE WHEN d.codes[i] >= 0 THEN d.codes[i] END,
                          error: CASE WHEN d.errors[i] <> '' THEN d.errors[i] END, seconds: d.seconds[i]}]
         } AS item,
       [toString(d.created_at), d.id] AS sort_key

// name: delivery_retry
// Asks for a delivery to be sent again: the one under way at once (its backoff is cleared), a past one
// as a replay with its own webhook-id and body. Returns the delivery's id, or no row.
MATCH (w:Webhook {id: $webhook_id})
MATCH (d:WebhookDelivery {id: $id, webhook_id: $webhook_id})
SET w._lock = true, d._lock = true
REMOVE w._lock, d._lock
WITH w, d, coalesce(w.pending = d.id, false) AS under_way, coalesce(d.replay, false) AS asked
FOREACH (_ IN CASE WHEN under_way THEN [1] ELSE [] END | SET w.next_attempt_at = null)
FOREACH (_ IN CASE WHEN NOT under_way AND NOT asked THEN [1] ELSE [] END |
    SET w.replays = coalesce(w.replays, 0) + 1, d.replay = true)
RETURN d.id AS id

// name: delivery_replays
// The past deliveries of an endpoint asked to be sent again, oldest first.
MATCH (d:WebhookDelivery {webhook_id: $webhook_id}) WHERE d.replay
RETURN d.id AS id ORDER BY d.created_at, d.id LIMIT $limit

// name: delivery_purge
// Removes up to $batch finished deliveries (accepted, or failed when their endpoint gave up) made before
// $before, oldest first (the created_at index); returns how many went. A delivery asked to be sent again stays.
MATCH (d:WebhookDelivery)
WHERE d.created_at < $before AND d.status IN ['delivered', 'failed'] AND d.replay IS NULL
WITH d ORDER BY d.created_at LIMIT $batch
DETACH DELETE d
RETURN count(*) AS purged

// name: webhook_affiliation
// One affiliation as the API shows it (an event's payload), or no row.
MATCH (m:Member {id: $member_id})-[a:MEMBER_OF]->(o:Organization {id: $organization_id})
RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name} AS affiliation
