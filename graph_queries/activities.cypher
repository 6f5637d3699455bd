// Shared activities: convenings, workshops, cohorts, committees, and the members who took part
// ((:Member)-[:PARTICIPATED_IN {role}]->(:Activity)); the hosting organization is (:Activity)-[:HOSTED_BY]->.

// name: activity_create
// Creates an activity from $props, hosted by organization $organization_id (null: none); returns its id.
CREATE (a:Activity)
SET a = $props,
    a.id = $id,
    a.version = 1,
    a.created_at = datetime(),
    a.updated_at = a.created_at
WITH a
OPTIONAL MATCH (o:Organization {id: $organization_id})
FOREACH (_ IN CASE WHEN o IS NOT NULL THEN [1] ELSE [] END | CREATE (a)-[:HOSTED_BY]->(o))
RETURN a.id AS id

// name: activity_get
// The activities named in $ids (one row each that exists), with their host and number of participants.
MATCH (a:Activity) WHERE a.id IN $ids
RETURN a {.*, organization_id: [(a)-[:HOSTED_BY]->(o:Organization) | o.id][0],
          participant_count: COUNT { (:Member)-[:PARTICIPATED_IN]->(a) }} AS activity

// name: activity_list
// One page of activities ordered by (created_at, id) after the cursor, with filters: kind, host
// organization, participating member.
MATCH (a:Activity)
WHERE ($after IS NULL OR a.created_at > datetime($after[0])
       OR (a.created_at = datetime($after[0]) AND a.id > $after[1]))
  AND ($kind IS NULL OR a.kind = $kind)
  AND ($organization_id IS NULL OR EXISTS { (a)-[:HOSTED_BY]->(:Organization {id: $organization_id}) })
  AND ($member_id IS NULL OR EXISTS { (:Member {id: $member_id})-[:PARTICIPATED_IN]->(a) })
WITH a ORDER BY a.created_at, a.id LIMIT $limit
RETURN a {.*, organization_id: [(a)-[:HOSTED_BY]->(o:Organization) | o.id][0],
          participant_count: COUNT { (:Member)-[:PARTICIPATED_IN]->(a) }} AS item,
       [toString(a.created_at), a.id] AS sort_key

// name: activity_lock
// Takes the activity's write lock; returns its version and dates (for cross-field checks).
MATCH (a:Activity {id: $id})
SET a._lock = true
REMOVE a._lock
RETURN a.version AS version, a.starts_on AS starts_on, a.ends_on AS ends_on

// name: activity_update
// Applies $changes and bumps the version; with $set_organization, the host becomes $organization_id (null:
// none). Run after activity_lock.
MATCH (a:Activity {id: $id})
SET a += $changes,
    a.version = a.version + 1,
    a.updated_at = datetime()
WITH a
CALL (a) {
    WITH a WHERE $set_organization
    OPTIONAL MATCH (a)-[h:HOSTED_BY]->()
    DELETE h
}
CALL (a) {
    WITH a WHERE $set_organization AND $organization_id IS NOT NULL
    MATCH (o:Organization {id: $organization_id})
    CREATE (a)-[:HOSTED_BY]->(o)
}
RETURN a.id AS id

// name: activity_delete
// Deletes the activity with its participations, host tie and external ids.
MATCH (a:Activity {id: $id})
OPTIONAL MATCH (x:ExternalId)-[:IDENTIFIES]->(a)
WITH a, collect(x) AS handles
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE a
RETURN $id AS id

// name: activity_organization_exists
// One row when organization $id exists.
MATCH (o:Organization {id: $id})
RETURN o.id AS id

// name: activity_members_exist
// Which of $ids are members.
MATCH (m:Member) WHERE m.id IN $ids
RETURN collect(m.id) AS ids

// name: activity_touch
// Bumps the activity's version (its participants changed); run after activity_lock.
MATCH (a:Activity {id: $id})
SET a.version = a.version + 1, a.updated_at = datetime()
RETURN a.version AS version

// name: activity_participants
// Every participant of activity $id (at most $limit), by name: [{member_id, name, role}].
MATCH (m:Member)-[p:PARTICIPATED_IN]->(:Activity {id: $id})
WITH m, p ORDER BY m.name_key, m.id LIMIT $limit
RETURN collect({member_id: m.id, name: m.name, role: p.role}) AS participants

// name: activity_participants_page
// One page of activity $id's participants ordered by (name_key, id) after the cursor.
MATCH (m:Member)-[p:PARTICIPATED_IN]->(:Activity {id: $id})
WHERE $after IS NULL OR m.name_key > $after[0] OR (m.name_key = $after[0] AND m.id > $after[1])
WITH m, p ORDER BY m.name_key, m.id LIMIT $limit
RETURN {member_id: m.id, name: m.name, role: p.role} AS item, [m.name_key, m.id] AS sort_key

// name: analytics_activity_participants
// The co-participation read of the analytics: one row, `activities`, per activity that started on or before
// $as_of (or has no start date) [activity id, participant count, member ids], the member ids only for
// activities of at most $cap participants (a larger one adds no ties, and is only counted).
MATCH (a:Activity)
WHERE a.starts_on IS NULL OR a.starts_on <= $as_of
WITH a, COUNT { (:Member)-[:PARTICIPATED_IN]->(a) } AS size
RETURN collect([a.id, size, CASE WHEN size <= $cap THEN [(m:Member)-[:PARTICIPATED_IN]->(a) | m.id] ELSE [] END])
       AS activities

// --- sync by external id (service/repositories/sync.py) -------------------------------------------------

// name: sync_resolve_members
// For each ref {key (a member ExternalId key), value (the raw value: maybe a netweave id)}, the member id or null.
UNWIND $refs AS ref
OPTIONAL MATCH (:ExternalId {key: ref.key})-[:IDENTIFIES]->(m:Member)
OPTIONAL MATCH (byid:Member {id: ref.value})
RETURN ref.value AS value, coalesce(m.id, byid.id) AS id

// name: sync_upsert_activities
// Creates or updates activities from rows {index, key, external_id, new_id, props, set_host, host_id}; writes
// nothing for unchanged ones (a record that sets the host it has is unchanged). Returns one row: `rows`, per
// input row [index, id, status] (created, updated or unchanged). The host itself is set by sync_activity_hosts.
UNWIND $rows AS row
MERGE (x:ExternalId {key: row.key})
ON CREATE SET x.source = $source, x.value = row.external_id, x.resource = 'activity'
WITH row, x
OPTIONAL MATCH (x)-[:IDENTIFIES]->(existing:Activity)
OPTIONAL MATCH (existing)-[:HOSTED_BY]->(host:Organization)
WITH row, x, existing,
     existing IS NOT NULL AND (any(k IN keys(row.props)
         WHERE NOT coalesce(existing[k] = row.props[k], existing[k] IS NULL AND row.props[k] IS NULL))
         OR (row.set_host AND coalesce(host.id, '') <> coalesce(row.host_id, ''))) AS changed
FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
    CREATE (a:Activity {id: row.new_id})
    SET a += row.props, a.version = 1, a.created_at = datetime(), a.updated_at = a.created_at
    CREATE (x)-[:IDENTIFIES]->(a))
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET existing += row.props, existing.version = existing.version + 1, existing.updated_at = datetime())
RETURN collect([row.index, coalesce(existing.id, row.new_id),
                CASE WHEN existing IS NULL THEN 'created' WHEN changed THEN 'updated' ELSE 'unchanged' END]) AS rows

// name: sync_activity_hosts
// Gives each activity of rows {id, host_id} that host (null: none) where it has another. Returns nothing.
UNWIND $rows AS row
MATCH (a:Activity {id: row.id})
OPTIONAL MATCH (a)-[h:HOSTED_BY]->(o:Organization)
WITH a, row, collect(h) AS held, collect(o.id) AS hosts
WHERE hosts <> CASE WHEN row.host_id IS NULL THEN [] ELSE [row.host_id] END
FOREACH (h IN held | DELETE h)
WITH a, row
OPTIONAL MATCH (o:Organization {id: row.host_id})
FOREACH (_ IN CASE WHEN o IS NOT NULL THEN [1] ELSE [] END | CREATE (a)-[:HOSTED_BY]->(o))

// name: activity_participants_replace
// Makes each activity's participants exactly rows {activity_id, participants: [{member_id, role}]} (the API's
// PUT and sync); returns per activity how many participations were added, removed or changed role (all 0:
// nothing was written).
UNWIND $rows AS row
MATCH (a:Activity {id: row.activity_id})
CALL (a, row) {
    OPTIONAL MATCH (m:Member)-[p:PARTICIPATED_IN]->(a)
    WHERE NOT m.id IN [x IN row.participants | x.member_id]
    DELETE p
    RETURN count(p) AS removed
}
CALL (a, row) {
    UNWIND row.participants AS x
    MATCH (m:Member {id: x.member_id})
    OPTIONAL MATCH (m)-[had:PARTICIPATED_IN]->(a)
    WITH a, m, x, had, had IS NOT NULL AND had.role <> x.role AS changing
    CALL (a, m, x, had) {
        WITH a, m, x WHERE had IS NULL
        CREATE (m)-[:PARTICIPATED_IN {role: x.role, created_at: datetime()}]->(a)
    }
    CALL (x, had, changing) {
        WITH x, had WHERE changing
        SET had.role = x.role
    }
    RETURN sum(CASE WHEN had IS NULL THEN 1 ELSE 0 END) AS added,
           sum(CASE WHEN changing THEN 1 ELSE 0 END) AS changed
}
RETURN row.activity_id AS activity_id, added, removed, changed

// name: sync_activity_touch
// Bumps the version of the activities $ids (their participants changed, nothing else did).
UNWIND $ids AS id
MATCH (a:Activity {id: id})
SET a.version = a.version + 1, a.updated_at = datetime()

// name: sync_delete_activities
// Tombstones: deletes the activities named by rows {index, key} with their participations and external ids;
// returns per row the activity id (null when none) and its external ids.
UNWIND $rows AS row
OPTIONAL MATCH (:ExternalId {key: row.key})-[:IDENTIFIES]->(a:Activity)
WITH row, a, a.id AS id, CASE WHEN a IS NULL THEN [] ELSE [(x:ExternalId)-[:IDENTIFIES]->(a) | x] END AS handles
WITH row, a, id, handles, [x IN handles | x.source + ':' + x.value] AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE a
RETURN row.index AS index, id, external_ids
