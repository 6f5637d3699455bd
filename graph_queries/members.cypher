// Members: create, read, list, update, delete, collaborators.

// name: member_create
// Creates a member from $props (already validated) and returns it. It holds the email key $email_key unless
// another member does (then it holds none, and GET /v1/members/duplicates lists the two). It is held by the
// API (held_by_api): a source's tombstone for an external id attached to it later never deletes it.
CREATE (m:Member)
SET m = $props,
    m.held_by_api = true,
    m.email_key = CASE WHEN EXISTS { MATCH (:Member {email_key: $email_key}) } THEN null ELSE $email_key END,
    m.id = $id,
    m.name_key = toLower($props.name),
    m.version = 1,
    m.created_at = datetime(),
    m.updated_at = m.created_at
RETURN m {.*, affiliations: []} AS member

// name: member_get
// The members named in $ids (one row each that exists, in no set order), with their affiliations.
MATCH (m:Member) WHERE m.id IN $ids
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS member

// name: member_list
// One page of members ordered by (name_key, id) after the cursor, with filters; returns item and sort_key.
// The first two predicates state what every member satisfies in a form the planner seeks the
// member_name_key index by: rows then come in (name_key, id) order and the LIMIT stops the read at the
// page's end. Without them every page read and sorted every member (PROFILE at 100,000 members: 100,000
// rows, 240-270 ms a page of 50; with them 51 rows, under 50 ms).
MATCH (m:Member)
WHERE m.name_key >= coalesce($after[0], '') AND m.id IS NOT NULL
  AND ($after IS NULL OR m.name_key > $after[0] OR (m.name_key = $after[0] AND m.id > $after[1]))
  AND ($region IS NULL OR m.region = $region)
  AND ($role IS NULL OR m.role = $role)
  AND ($topic IS NULL OR $topic IN m.topics)
  AND ($q IS NULL OR m.name_key CONTAINS $q)
  AND ($organization_id IS NULL OR EXISTS { (m)-[:MEMBER_OF]->(:Organization {id: $organization_id}) })
  AND all(f IN $attribute_filters WHERE CASE WHEN f.tags THEN f.value IN m[f.key] ELSE m[f.key] = f.value END)
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
WITH m, collaborations, organizations, collect(x) AS handles, collect(x.source + ':' + x.value) AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE m
RETURN collaborations, organizations, external_ids

// name: member_by_email_key
// The member holding the email key $key, with its affiliations, or no row.
MATCH (m:Member {email_key: $key})
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS member

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

// name: member_duplicates
// Groups of members holding the same email (trimmed, lower-case), at most $limit, by email: the ids, the oldest
// first. Members of one organization with the same name are grouped in Python (service/repositories/members.py
// duplicates: names compared as people write them, accents and spacing aside), from
// member_names_in_organizations; both are shown through member_duplicate_details.
MATCH (m:Member)
WHERE m.email IS NOT NULL
WITH toLower(trim(m.email)) AS key, m ORDER BY m.created_at, m.id
WITH key, collect(m.id) AS ids
WHERE size(ids) > 1
RETURN ids ORDER BY key LIMIT $limit

// name: member_names_in_organizations
// Every affiliation as [organization id, member id, member name], members in creation order: what duplicates
// groups by name within an organization.
MATCH (m:Member)-[:MEMBER_OF]->(o:Organization)
WITH o, m ORDER BY m.created_at, m.id
RETURN o.id AS organization, m.id AS id, m.name AS name

// name: member_duplicate_details
// The members $ids as duplicates shows them: {id, name, email, organizations}.
UNWIND $ids AS id
MATCH (m:Member {id: id})
RETURN m {.id, .name, .email, organizations: COLLECT {
    MATCH (m)-[:MEMBER_OF]->(o:Organization) RETURN o.name ORDER BY o.name_key
}} AS member

// name: member_merge
// Folds the members $others into $survivor (all locked by the caller): external ids, affiliations,
// collaborations, introductions and activity participations move to the survivor (a tie between two of them goes, and an
// introduction of the survivor to itself); the survivor's empty fields are filled from the others (the first
// listed first) and its topics and populations gain theirs; the others go. The survivor's email key is left
// to member_email_keys. Returns what changed, for the change feed: dropped and moved ties [id, source, target],
// affiliations_gone [member, organization], affiliations_new [organization], tombstones [id, external keys],
// and the survivor's email_key.
MATCH (s:Member {id: $survivor})
MATCH (o:Member) WHERE o.id IN $others
WITH s, collect(o) AS others
WITH s, others, [o IN others | [o.id, [(x:ExternalId)-[:IDENTIFIES]->(o) | x.source + ':' + x.value]]] AS tombstones
CALL (s, others) {
    UNWIND others AS o
    MATCH (x:ExternalId)-[r:IDENTIFIES]->(o)
    DELETE r
    MERGE (x)-[:IDENTIFIES]->(s)
}
CALL (s, others) {
    UNWIND others AS o
    MATCH (o)-[a:MEMBER_OF]->(organization:Organization)
    WITH s, o, a, organization, properties(a) AS props
    DELETE a
    MERGE (s)-[n:MEMBER_OF]->(organization)
    ON CREATE SET n = props, n._new = true
    RETURN collect([o.id, organization.id]) AS affiliations_gone,
           collect(DISTINCT CASE WHEN n._new THEN organization.id END) AS affiliations_new
}
CALL (s) {
    MATCH (s)-[n:MEMBER_OF]->()
    WHERE n._new
    REMOVE n._new
}
CALL (s, others) {
    UNWIND others AS o
    MATCH (o)-[c:COLLABORATES_WITH]-()
    WITH DISTINCT s, others, c
    WITH s, c, startNode(c) AS a, endNode(c) AS b, properties(c) AS props
    WITH s, c, a, b, props, CASE WHEN a IN others OR a = s THEN s ELSE a END AS a2,
         CASE WHEN b IN others OR b = s THEN s ELSE b END AS b2
    DELETE c
    WITH a, b, props, a2, b2
    OPTIONAL CALL (props, a2, b2) {
        WITH * WHERE a2 <> b2
        CREATE (a2)-[n:COLLABORATES_WITH]->(b2)
        SET n = props, n.version = props.version + 1, n.updated_at = datetime()
        RETURN n
    }
    RETURN collect(CASE WHEN a2 <> b2 THEN [props.id, a2.id, b2.id] END) AS moved,
           collect(CASE WHEN a2 = b2 THEN [props.id, a.id, b.id] END) AS dropped
}
CALL (s, others) {
    UNWIND others AS o
    MATCH (i:Introduction)-[r:INTRODUCES]->(o)
    DELETE r
    MERGE (i)-[:INTRODUCES]->(s)
}
CALL (s) {
    MATCH (i:Introduction)-[:INTRODUCES]->(s)
    WHERE COUNT { (i)-[:INTRODUCES]->() } < 2
    DETACH DELETE i
}
CALL (s, others) {
    UNWIND others AS o
    MATCH (o)-[p:PARTICIPATED_IN]->(a:Activity)
    WITH s, a, p, properties(p) AS props
    DELETE p
    MERGE (s)-[n:PARTICIPATED_IN]->(a)
    ON CREATE SET n = props
}
WITH s, others, tombstones, affiliations_gone, affiliations_new, moved, dropped, properties(s) AS own
// The others' unique keys go first, so no two nodes hold one id or email key even for a moment.
FOREACH (o IN others | REMOVE o.id, o.email_key)
FOREACH (o IN reverse(others) | SET s += properties(o))
SET s += own
SET s.topics = COLLECT { UNWIND coalesce(own.topics, []) + reduce(acc = [], o IN others | acc + coalesce(o.topics, [])) AS t
                         RETURN DISTINCT t }[..30],
    s.populations = COLLECT { UNWIND coalesce(own.populations, []) + reduce(acc = [], o IN others | acc + coalesce(o.populations, [])) AS t
                              RETURN DISTINCT t }[..30],
    s.email_key = own.email_key, s.name_key = toLower(s.name),
    s.version = own.version + 1, s.updated_at = datetime()
FOREACH (o IN others | DETACH DELETE o)
RETURN tombstones, affiliations_gone, affiliations_new, moved, dropped,
       CASE WHEN s.email IS NULL THEN null ELSE toLower(trim(s.email)) END AS email_key
