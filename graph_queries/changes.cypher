// The change feed and the graph revision: one counter, locked by every writing transaction.

// name: change_record
// Appends $changes (maps {resource, id, action, source, external_ids, parties}) with consecutive seq numbers;
// `parties` (a collaboration's two party ids, else null) lets a live analytics projection find a deleted tie.
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
                  source: change.source, external_ids: coalesce(change.external_ids, []), parties: change.parties,
                  at: datetime()})
RETURN max(seq) AS revision

// name: change_revision
// The graph revision: the seq of the last committed change (0 before any).
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.value, 0) AS revision

// name: change_list
// One page of the feed after seq $after, in seq order, with optional filters.
MATCH (c:Change)
WHERE c.seq > $after
  AND ($resource IS NULL OR c.resource = $resource)
  AND ($source IS NULL OR c.source = $source)
  AND ($exclude_source IS NULL OR c.source <> $exclude_source)
WITH c ORDER BY c.seq LIMIT $limit
RETURN c {.seq, .resource, id: c.resource_id, .action, .source, .external_ids, .at} AS change

// name: change_floor
// The highest seq removed by retention (a cursor below it has missed entries), and the revision.
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.purged_through, 0) AS purged_through, coalesce(counter.value, 0) AS revision

// name: change_purge
// Removes up to $batch entries older than $days days, oldest first, and remembers the highest seq removed.
// Entries are read in seq order from the last purge on (an index range), never by scanning all of them.
MATCH (counter:Counter {name: 'changes'})
CALL (counter) {
    MATCH (c:Change)
    WHERE c.seq > coalesce(counter.purged_through, 0)
    WITH c ORDER BY c.seq LIMIT $batch
    WITH c WHERE c.at < datetime() - duration({days: $days})
    WITH collect(c) AS old
    WITH old, reduce(top = 0, c IN old | CASE WHEN c.seq > top THEN c.seq ELSE top END) AS top
    FOREACH (c IN old | DELETE c)
    RETURN top, size(old) AS purged
}
SET counter.purged_through = CASE WHEN top > coalesce(counter.purged_through, 0) THEN top
                                  ELSE counter.purged_through END
RETURN purged
