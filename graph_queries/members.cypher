// Members: create, read, list, update, delete, collaborators.

// name: member_create
// Creates a member from $props (already validated) and returns it.
CREATE (m:Member)
SET m = $props,
    m.id = $id,
    m.name_key = toLower($props.name),
    m.version = 1,
    m.created_at = datetime(),
    m.updated_at = m.created_at
RETURN m {.*, affiliations: []} AS member

// name: member_get
// One member with its affiliations, or no row.
MATCH (m:Member {id: $id})
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS member

// name: member_list
// One page of members ordered by (name_key, id) after the cursor, with filters; returns item and sort_key.
MATCH (m:Member)
WHERE ($after IS NULL OR m.name_key > $after[0] OR (m.name_key = $after[0] AND m.id > $after[1]))
  AND ($region IS NULL OR m.region = $region)
  AND ($role IS NULL OR m.role = $role)
  AND ($topic IS NULL OR $topic IN m.topics)
  AND ($q IS NULL OR m.name_key CONTAINS $q)
  AND ($organization_id IS NULL OR EXISTS { (m)-[:MEMBER_OF]->(:Organization {id: $organization_id}) })
WITH m ORDER BY m.name_key, m.id LIMIT $limit
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS item, [m.name_key, m.id] AS sort_key

// name: member_lock
// Takes the member's write lock and returns its current version (no row when absent).
MATCH (m:Member {id: $id})
SET m._lock = true
REMOVE m._lock
RETURN m.version AS version

// name: member_update
// Applies $changes (null removes a property) and bumps the version; run after member_lock.
MATCH (m:Member {id: $id})
SET m += $changes,
    m.name_key = toLower(m.name),
    m.version = m.version + 1,
    m.updated_at = datetime()
RETURN m.id AS id

// name: member_delete
// Deletes the member, its ties and its external ids; returns what went with it (for the change feed).
MATCH (m:Member {id: $id})
WITH m, [(m)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] AS collaborations,
        [(m)-[:MEMBER_OF]->(o:Organization) | o.id] AS organizations
OPTIONAL MATCH (x:ExternalId)-[:IDENTIFIES]->(m)
WITH m, collaborations, organizations, collect(x) AS handles, collect(x.key) AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE m
RETURN collaborations, organizations, external_ids

// name: member_exists
// One row when the member exists.
MATCH (m:Member {id: $id})
RETURN m.id AS id

// name: member_collaborators
// One page of the parties a member collaborates with, aggregated per party, ordered by (name_key, id).
MATCH (m:Member {id: $id})-[c:COLLABORATES_WITH]-(p)
WHERE $after IS NULL OR p.name_key > $after[0] OR (p.name_key = $after[0] AND p.id > $after[1])
WITH p, count(c) AS collaborations, sum(c.strength) AS strength, collect(DISTINCT c.kind) AS kinds
ORDER BY p.name_key, p.id
LIMIT $limit
RETURN {id: p.id, type: CASE WHEN p:Member THEN 'member' ELSE 'organization' END, name: p.name,
        collaborations: collaborations, strength: strength, kinds: kinds} AS item,
       [p.name_key, p.id] AS sort_key
