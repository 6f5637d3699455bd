// The change feed and the graph revision: one counter, locked by every writing transaction.
// Storage: one Change node per writing transaction, holding its entries as parallel lists. Entries are
// numbered one by one (the feed's cursor and the graph revision are entry numbers); a node holds the
// consecutive entries `seq` .. `last`, entry i of the node being number seq + i. Per entry i:
// resources[i], ids[i], actions[i], sources[i], party_sources[i] / party_targets[i] (a collaboration's two
// parties, '' for other entries), external_ids[external_id_bounds[i] .. external_id_bounds[i + 1]], and, only
// on nodes of a member merge, merged_into[i] (the survivor of a merged member's tombstone, '' otherwise).

// name: change_record
// Appends one node holding $count entries (the parallel lists above) numbered after the counter; returns the
// new revision. The counter's write lock is held to commit, so seq order is commit order and no number is skipped.
MERGE (counter:Counter {name: 'changes'})
ON CREATE SET counter.value = 0
SET counter._lock = true
REMOVE counter._lock
WITH counter, counter.value AS base
SET counter.value = base + $count
CREATE (c:Change {seq: base + 1, last: base + $count, resources: $resources, ids: $ids, actions: $actions,
                  sources: $sources, external_ids: $external_ids, external_id_bounds: $external_id_bounds,
                  party_sources: $party_sources, party_targets: $party_targets, merged_into: $merged_into,
                  at: datetime()})
RETURN base + $count AS revision

// name: change_revision
// The graph revision: the seq of the last committed change (0 before any).
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.value, 0) AS revision

// name: change_holder
// The seq of the node holding entry $after + 1 (the highest node seq not above it), else $after + 1: where a
// read of the entries after $after starts.
OPTIONAL MATCH (holder:Change) WHERE holder.seq <= $after + 1
WITH holder ORDER BY holder.seq DESC LIMIT 1
RETURN coalesce(holder.seq, $after + 1) AS first

// name: change_list
// One page of the feed: at most $limit entries numbered after $after, in seq order, with optional filters;
// $first is change_holder's answer. Nodes are read in seq order (the change_seq index gives that order, so
// the page stops reading once it is full); a node none of whose entries can match a filter is skipped whole.
// Each list is read once per node (indexing a stored list reads all of it). Rows stream in node order (index
// order) and, within a node, in UNWIND's ascending order; no ORDER BY after the UNWIND: a sort would hold every
// row with its node's lists against the transaction memory limit, and read every node first.
// Without filters only a node's first row of the page carries `at`, which the node's entries share
// (changes.page fills it in): sending and decoding one timestamp per entry cost about a third of a page.
MATCH (c:Change)
WHERE c.seq >= $first
WITH c ORDER BY c.seq
WITH c, c.resources AS resources, c.sources AS sources
WHERE ($resource IS NULL OR $resource IN resources)
  AND ($source IS NULL OR $source IN sources)
  AND ($exclude_source IS NULL OR any(s IN sources WHERE s <> $exclude_source))
WITH c, resources, sources, c.ids AS ids, c.actions AS actions, c.external_ids AS external_ids,
     c.external_id_bounds AS bounds
WITH c, resources, sources, ids, actions, external_ids, bounds,
     CASE WHEN c.seq > $after THEN 0 ELSE $after + 1 - c.seq END AS start
UNWIND range(start, size(ids) - 1) AS i
WITH c, i, start, resources, sources, ids, actions, external_ids, bounds
WHERE ($resource IS NULL OR resources[i] = $resource)
  AND ($source IS NULL OR sources[i] = $source)
  AND ($exclude_source IS NULL OR sources[i] <> $exclude_source)
WITH c, i, start, resources, sources, ids, actions, external_ids, bounds LIMIT $limit
RETURN {seq: c.seq + i, resource: resources[i], id: ids[i], action: actions[i], source: sources[i],
        external_ids: external_ids[bounds[i]..bounds[i + 1]],
        at: CASE WHEN i = start OR $resource IS NOT NULL OR $source IS NOT NULL OR $exclude_source IS NOT NULL
                 THEN c.at END,
        merged_into: CASE WHEN c.merged_into[i] <> '' THEN c.merged_into[i] END} AS change

// name: change_floor
// The highest seq removed by retention (a cursor below it has missed entries), and the revision.
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.purged_through, 0) AS purged_through, coalesce(counter.value, 0) AS revision

// name: change_purge_due
// Whether the oldest node kept is older than $days days (one index seek): only then is change_purge run.
MATCH (counter:Counter {name: 'changes'})
OPTIONAL MATCH (c:Change) WHERE c.seq > coalesce(counter.purged_through, 0)
WITH c ORDER BY c.seq LIMIT 1
RETURN coalesce(c.at < datetime() - duration({days: $days}), false) AS due

// name: change_purge
// Removes up to $batch nodes older than $days days, oldest first, and remembers the highest seq removed;
// returns how many entries went. Nodes are read in seq order from the last purge on (an index range). The
// feed is the webhooks' outbox: entries an enabled endpoint has not been sent yet are kept (a disabled one
// resumed after retention is told of the gap, service/webhooks/delivery.py).
MATCH (counter:Counter {name: 'changes'})
OPTIONAL MATCH (w:Webhook) WHERE w.enabled
WITH counter, min(w.cursor) AS held
CALL (counter, held) {
    MATCH (c:Change)
    WHERE c.seq > coalesce(counter.purged_through, 0) AND (held IS NULL OR c.last <= held)
    WITH c ORDER BY c.seq LIMIT $batch
    WITH c WHERE c.at < datetime() - duration({days: $days})
    WITH collect(c) AS old
    WITH old, reduce(top = 0, c IN old | CASE WHEN c.last > top THEN c.last ELSE top END) AS top,
         reduce(n = 0, c IN old | n + size(c.ids)) AS purged
    FOREACH (c IN old | DELETE c)
    RETURN top, purged
}
SET counter.purged_through = CASE WHEN top > coalesce(counter.purged_through, 0) THEN top
                                  ELSE counter.purged_through END
RETURN purged

// name: change_format
// The storage format of the Change nodes: 2 once every node holds parallel lists (see change_migrate).
OPTIONAL MATCH (counter:Counter {name: 'changes'})
RETURN coalesce(counter.entries_format, 0) AS format

// name: change_migrate
// Rewrites nodes of the earlier format (one entry each, in the scalar properties resource, resource_id,
// action, source, parties) into the current one, keeping their seq and time. Run auto-committed; coalesce
// makes a node a second process already rewrote stay as it is.
MATCH (c:Change) WHERE c.last IS NULL
CALL (c) {
    SET c.last = c.seq,
        c.resources = coalesce(c.resources, [c.resource]),
        c.ids = coalesce(c.ids, [c.resource_id]),
        c.actions = coalesce(c.actions, [c.action]),
        c.sources = coalesce(c.sources, [c.source]),
        c.external_ids = coalesce(c.external_ids, []),
        c.external_id_bounds = coalesce(c.external_id_bounds, [0, size(coalesce(c.external_ids, []))]),
        c.party_sources = coalesce(c.party_sources, [coalesce(c.parties[0], '')]),
        c.party_targets = coalesce(c.party_targets, [coalesce(c.parties[1], '')])
    REMOVE c.resource, c.resource_id, c.action, c.source, c.parties
} IN TRANSACTIONS OF 5000 ROWS

// name: change_format_set
// Marks the Change nodes as migrated to format 2 (with no counter there is no entry to migrate yet).
MATCH (counter:Counter {name: 'changes'})
SET counter.entries_format = 2
