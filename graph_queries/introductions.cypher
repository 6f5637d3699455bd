// Introductions: suggested meetings between two members, and what became of them.

// name: introduction_create
// Records a suggested introduction between two existing members (checked before) and returns it.
MATCH (a:Member {id: $member_ids[0]})
MATCH (b:Member {id: $member_ids[1]})
CREATE (i:Introduction {id: $id, status: 'suggested', note: $note, version: 1, created_at: datetime(),
                        updated_at: datetime()})
CREATE (i)-[:INTRODUCES]->(a)
CREATE (i)-[:INTRODUCES]->(b)
RETURN i.id AS id

// name: introduction_pair_state
// Whether the two members exist, already collaborate, or already have an introduction.
UNWIND $member_ids AS member_id
OPTIONAL MATCH (m:Member {id: member_id})
WITH collect({id: member_id, found: m IS NOT NULL}) AS members
OPTIONAL MATCH (a:Member {id: $member_ids[0]})
OPTIONAL MATCH (b:Member {id: $member_ids[1]})
RETURN members,
       a IS NOT NULL AND b IS NOT NULL AND EXISTS { (a)-[:COLLABORATES_WITH]-(b) } AS tied,
       [(a)<-[:INTRODUCES]-(i:Introduction)-[:INTRODUCES]->(b) | i.id][0] AS introduction_id

// name: introduction_get
// The introductions named in $ids (one row each that exists), with their two members.
MATCH (i:Introduction)-[:INTRODUCES]->(m:Member) WHERE i.id IN $ids
WITH i, m ORDER BY m.name_key, m.id
WITH i, collect({id: m.id, name: m.name}) AS members
RETURN i {.id, .status, .note, .version, .created_at, .updated_at, .collaboration_id, members: members}
       AS introduction

// name: introduction_list
// One page of introductions, newest first by (created_at, id), with filters.
MATCH (i:Introduction)
WHERE ($after IS NULL OR i.created_at < datetime($after[0])
       OR (i.created_at = datetime($after[0]) AND i.id < $after[1]))
  AND ($status IS NULL OR i.status = $status)
  AND ($member_id IS NULL OR EXISTS { (i)-[:INTRODUCES]->(:Member {id: $member_id}) })
WITH i ORDER BY i.created_at DESC, i.id DESC LIMIT $limit
MATCH (i)-[:INTRODUCES]->(m:Member)
WITH i, m ORDER BY m.name_key, m.id
WITH i, collect({id: m.id, name: m.name}) AS members
RETURN i {.id, .status, .note, .version, .created_at, .updated_at, .collaboration_id, members: members} AS item,
       [toString(i.created_at), i.id] AS sort_key
ORDER BY i.created_at DESC, i.id DESC

// name: introduction_lock
// Takes the introduction's write lock; returns its version, status and members.
MATCH (i:Introduction {id: $id})
SET i._lock = true
REMOVE i._lock
WITH i
MATCH (i)-[:INTRODUCES]->(m:Member)
RETURN i.version AS version, i.status AS status, collect(m.id) AS member_ids

// name: introduction_decide
// Sets the status (and note) and bumps the version.
MATCH (i:Introduction {id: $id})
SET i.status = $status, i.note = coalesce($note, i.note), i.collaboration_id = $collaboration_id,
    i.version = i.version + 1, i.updated_at = datetime()
