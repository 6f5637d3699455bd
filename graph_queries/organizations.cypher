// Organizations: create, read, list, update, delete, members, affiliations.

// name: organization_create
// Creates an organization from $props and returns it, held by the API (as member_create).
CREATE (o:Organization)
SET o = $props,
    o.held_by_api = true,
    o.id = $id,
    o.name_key = toLower($props.name),
    o.version = 1,
    o.created_at = datetime(),
    o.updated_at = o.created_at
RETURN o {.*, member_count: 0} AS organization

// name: organization_get
// The organizations named in $ids (one row each that exists), with their member counts.
MATCH (o:Organization) WHERE o.id IN $ids
RETURN o {.*, member_count: COUNT { (o)<-[:MEMBER_OF]-(:Member) }} AS organization

// name: organization_list
// One page of organizations ordered by (name_key, id) after the cursor, with filters.
MATCH (o:Organization)
WHERE ($after IS NULL OR o.name_key > $after[0] OR (o.name_key = $after[0] AND o.id > $after[1]))
  AND ($region IS NULL OR o.region = $region)
  AND ($kind IS NULL OR o.kind = $kind)
  AND ($topic IS NULL OR $topic IN o.topics)
  AND ($q IS NULL OR o.name_key CONTAINS $q)
  AND all(f IN $attribute_filters WHERE CASE WHEN f.tags THEN f.value IN o[f.key] ELSE o[f.key] = f.value END)
WITH o ORDER BY o.name_key, o.id LIMIT $limit
RETURN o {.*, member_count: COUNT { (o)<-[:MEMBER_OF]-(:Member) }} AS item, [o.name_key, o.id] AS sort_key

// name: organization_lock
// Takes the organization's write lock; returns its version and how many members it has.
MATCH (o:Organization {id: $id})
SET o._lock = true
REMOVE o._lock
RETURN o.version AS version, COUNT { (o)<-[:MEMBER_OF]-(:Member) } AS members

// name: organization_update
// Applies $changes and bumps the version; run after organization_lock.
MATCH (o:Organization {id: $id})
SET o += $changes,
    o.name_key = toLower(o.name),
    o.version = o.version + 1,
    o.updated_at = datetime()
RETURN o.id AS id

// name: organization_delete
// Deletes the organization with its affiliations, collaborations and external ids (members stay);
// returns what went with it (for the change feed).
MATCH (o:Organization {id: $id})
WITH o, [(o)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] AS collaborations,
        [(m:Member)-[:MEMBER_OF]->(o) | m.id] AS members
OPTIONAL MATCH (x:ExternalId)-[:IDENTIFIES]->(o)
WITH o, collaborations, members, collect(x) AS handles, collect(x.source + ':' + x.value) AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE o
RETURN collaborations, members, external_ids

// name: organization_exists
// One row when the organization exists.
MATCH (o:Organization {id: $id})
RETURN o.id AS id

// name: organization_members
// One page of an organization's members with their affiliation, ordered by (name_key, id).
MATCH (o:Organization {id: $id})<-[a:MEMBER_OF]-(m:Member)
WHERE $after IS NULL OR m.name_key > $after[0] OR (m.name_key = $after[0] AND m.id > $after[1])
WITH o, a, m ORDER BY m.name_key, m.id LIMIT $limit
RETURN m {.*, affiliation: a {.role, .since, .until, member_id: m.id, organization_id: o.id,
                               organization_name: o.name}} AS item,
       [m.name_key, m.id] AS sort_key

// name: affiliation_put
// Creates or replaces the member's affiliation with the organization; says whether it was new.
// Whether it is new is what the MERGE found once it held the locks of both nodes (ON CREATE), not what a
// read before it saw: concurrent PUTs of a new pair all read "absent", and each then called itself the creator.
MATCH (m:Member {id: $member_id})
MATCH (o:Organization {id: $organization_id})
MERGE (m)-[a:MEMBER_OF]->(o)
ON CREATE SET a.created_at = datetime(), a.created_by_this_statement = true
WITH m, o, a, a.created_by_this_statement IS NOT NULL AS created
REMOVE a.created_by_this_statement
SET a.role = $role, a.since = $since, a.until = $until, a.updated_at = datetime()
RETURN created, a {.role, .since, .until, member_id: m.id, organization_id: o.id,
                   organization_name: o.name} AS affiliation

// name: affiliation_delete
// Removes the member's affiliation with the organization; returns how many were removed.
MATCH (:Member {id: $member_id})-[a:MEMBER_OF]->(:Organization {id: $organization_id})
DELETE a
RETURN count(*) AS removed
