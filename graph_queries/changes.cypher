// The change feed and the graph revision: one counter, locked by every writing transaction.

// name: change_record
// Appends $changes (maps {resource, id, action, source, external_ids}) with consecutive seq numbers.
// The counter's write lock is held to commit, so seq order is commit order and no number is skipped.
MERGE (counter:Counter {name: 'changes'})
ON CREATE SET counter.value = 0
SET counter._lock = true
REMOVE counter._lock
WITH counter, counter.value AS base
SET counter.value = base + size($changes)
WITH base
UNWIND range(0, size($changes) - 1) AS i
WITH base + i + 1 AS seq, $changes[i] AS change
CREATE (c:Change {seq: seq, resource: change.resource, resource_id: change.id, action: change.action,
                  source: change.source, external_ids: coalesce(change.external_ids, []), at: datetime()})
RETURN max(seq) AS revision

// name: change_revision
// The graph revision: the seq of the last committed change (0 before any).
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.value, 0) AS revision
