// Collaborations: COLLABORATES_WITH ties between members and/or organizations.

// name: party_types
// For each id in $ids, 'member', 'organization' or null when no such party exists.
UNWIND $ids AS party_id
OPTIONAL MATCH (m:Member {id: party_id})
OPTIONAL MATCH (o:Organization {id: party_id})
RETURN party_id AS id,
       CASE WHEN m IS NOT NULL THEN 'member' WHEN o IS NOT NULL THEN 'organization' END AS type

// name: collaboration_create
// Creates the tie between the two parties (stored source -> target; read as undirected).
CALL (*) {
    OPTIONAL MATCH (m:Member {id: $source_id})
    OPTIONAL MATCH (o:Organization {id: $source_id})
    RETURN coalesce(m, o) AS a
}
CALL (*) {
    OPTIONAL MATCH (m:Member {id: $target_id})
    OPTIONAL MATCH (o:Organization {id: $target_id})
    RETURN coalesce(m, o) AS b
}
WITH a, b WHERE a IS NOT NULL AND b IS NOT NULL
CREATE (a)-[c:COLLABORATES_WITH]->(b)
SET c = $props,
    c.id = $id,
    c.version = 1,
    c.created_at = datetime(),
    c.updated_at = c.created_at
RETURN c.id AS id

// name: collaboration_get
// The collaborations named in $ids (one row each that exists), with both parties.
MATCH (a)-[c:COLLABORATES_WITH]->(b) WHERE c.id IN $ids
RETURN c {.*, source_id: a.id, target_id: b.id, parties: [
    {id: a.id, type: CASE WHEN a:Member THEN 'member' ELSE 'organization' END, name: a.name},
    {id: b.id, type: CASE WHEN b:Member THEN 'member' ELSE 'organization' END, name: b.name}
]} AS collaboration

// name: collaboration_list
// One page of collaborations ordered by (created_at, id) after the cursor, with filters.
MATCH (a)-[c:COLLABORATES_WITH]->(b)
WHERE ($after IS NULL OR c.created_at > datetime($after[0])
       OR (c.created_at = datetime($after[0]) AND c.id > $after[1]))
  AND ($party_id IS NULL OR a.id = $party_id OR b.id = $party_id)
  AND ($kind IS NULL OR c.kind = $kind)
  AND ($active_on IS NULL OR ((c.started_on IS NULL OR c.started_on <= $active_on)
                              AND (c.ended_on IS NULL OR c.ended_on >= $active_on)))
  AND all(f IN $attribute_filters WHERE CASE WHEN f.tags THEN f.value IN c[f.key] ELSE c[f.key] = f.value END)
WITH a, b, c ORDER BY c.created_at, c.id LIMIT $limit
RETURN c {.*, source_id: a.id, target_id: b.id, parties: [
    {id: a.id, type: CASE WHEN a:Member THEN 'member' ELSE 'organization' END, name: a.name},
    {id: b.id, type: CASE WHEN b:Member THEN 'member' ELSE 'organization' END, name: b.name}
]} AS item, [toString(c.created_at), c.id] AS sort_key

// name: collaboration_lock
// Takes the tie's write lock; returns its version, dates (for cross-field checks) and parties.
MATCH (a)-[c:COLLABORATES_WITH {id: $id}]->(b)
SET c._lock = true
REMOVE c._lock
RETURN c.version AS version, c.started_on AS started_on, c.ended_on AS ended_on, a.id AS source_id,
       b.id AS target_id

// name: collaboration_update
// Applies $changes and bumps the version; run after collaboration_lock.
MATCH ()-[c:COLLABORATES_WITH {id: $id}]->()
SET c += $changes,
    c.version = c.version + 1,
    c.updated_at = datetime()
RETURN c.id AS id

// name: collaboration_delete
// Deletes the tie; returns its parties.
MATCH (a)-[c:COLLABORATES_WITH {id: $id}]->(b)
DELETE c
RETURN a.id AS source_id, b.id AS target_id
