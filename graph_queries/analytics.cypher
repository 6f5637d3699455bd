// Analytics: the projection the engine reads, the nodes it describes, write-back, health snapshots.

// name: analytics_projection
// The analytics graph (every member; organizations too when $organizations), as records of `parties`: lists
// of up to $chunk party rows [id, kind ('member'|'organization'), region, role, topics, organizations (ids of
// affiliations active on $as_of), tie_nodes, tie_strengths, cluster_id (the cluster last written back, what
// new clusters are matched to), node]. tie_nodes/tie_strengths are parallel lists of the collaborations active
// on $as_of that start at this party (each stored relationship is listed once, at its start node; the engine
// reads them as undirected), naming the other party by its `node`: the internal node id, valid inside this
// one transaction only, which is all the engine uses it for. With $source, only that source's collaborations.
// Why this shape: on 100,000 members / 1M ties, bench/analytics.py's "projection read" table (wall clock, same
// run) gave 3.6 s for it against 6.5 s for a record per party with uuid ties. Measured apart (cProfile and /proc CPU
// times of a worker, not in the bench): a record costs the driver ~20 us of Python whatever the Rust extension does, so a record per
// party took 2.9 s of the worker's CPU (and GIL) against 0.7 s in chunks, and node ids instead of uuids cut
// Neo4j's CPU for the read by ~1 s. (id() is deprecated as a lasting key, which is not how it is used here.)
CALL () {
    MATCH (m:Member)
    RETURN m AS party
    UNION ALL
    MATCH (o:Organization) WHERE $organizations
    RETURN o AS party
}
WITH collect(party) AS parties
UNWIND range(0, size(parties) - 1, $chunk) AS start
CALL (parties, start) {
    UNWIND parties[start..start + $chunk] AS party
    WITH party, [(party)-[c:COLLABORATES_WITH]->(x)
                 WHERE (x:Member OR ($organizations AND x:Organization))
                   AND (c.started_on IS NULL OR c.started_on <= $as_of)
                   AND (c.ended_on IS NULL OR c.ended_on >= $as_of)
                   AND ($source IS NULL OR c.source = $source) | [id(x), coalesce(c.strength, 3)]] AS ties
    RETURN collect([party.id, CASE WHEN party:Member THEN 'member' ELSE 'organization' END, party.region,
                    party.role, coalesce(party.topics, []),
                    CASE WHEN party:Member THEN [(party)-[a:MEMBER_OF]->(o:Organization)
                                                 WHERE (a.since IS NULL OR a.since <= $as_of)
                                                   AND (a.until IS NULL OR a.until >= $as_of) | o.id]
                         ELSE [] END,
                    [t IN ties | t[0]], [t IN ties | t[1]], party.cluster_id, id(party)]) AS chunk
}
RETURN chunk AS parties

// name: analytics_changes_since
// The change entries after seq $after up to seq $until (at most $limit), in seq order: what a projection kept
// current from the feed (service/analytics/live.py) re-reads. `parties` is set on collaboration entries.
// Entries are numbered one by one inside Change nodes (see graph_queries/changes.cypher); $first is
// change_holder's answer for $after. Each list is read once per node; rows stream in seq order (index order,
// then UNWIND's), with no sort after the UNWIND (see change_list).
MATCH (c:Change)
WHERE c.seq >= $first AND c.seq <= $until
WITH c ORDER BY c.seq
WITH c, c.resources AS resources, c.ids AS ids, c.actions AS actions, c.party_sources AS party_sources,
     c.party_targets AS party_targets
UNWIND range(CASE WHEN c.seq > $after THEN 0 ELSE $after + 1 - c.seq END,
             CASE WHEN c.last > $until THEN $until - c.seq ELSE size(ids) - 1 END) AS i
WITH resources[i] AS resource, ids[i] AS id, actions[i] AS action,
     CASE WHEN party_sources[i] = '' THEN null ELSE [party_sources[i], party_targets[i]] END AS parties
LIMIT $limit
RETURN resource, id, action, parties

// name: analytics_collaboration_parties
// The two parties of each collaboration in $ids that still exists.
UNWIND $ids AS collaboration_id
MATCH (a)-[c:COLLABORATES_WITH {id: collaboration_id}]->(b)
RETURN c.id AS id, a.id AS source_id, b.id AS target_id

// name: analytics_projection_parties
// One row per party of $ids (those that exist and are in scope), with the fields of an analytics_projection
// party row, except that ties name the other party by its uuid `id` (not a node id) and each row lists every
// collaboration of the party active on $as_of, in either direction, with its id in tie_keys (row[9]; a tie
// between two listed parties appears in both rows). service/analytics/live.py reads these.
UNWIND $ids AS party_id
CALL (party_id) {
    MATCH (m:Member {id: party_id})
    RETURN m AS party, 'member' AS kind
    UNION ALL
    MATCH (o:Organization {id: party_id}) WHERE $organizations
    RETURN o AS party, 'organization' AS kind
}
WITH party, kind, [(party)-[c:COLLABORATES_WITH]-(x)
                   WHERE (x:Member OR ($organizations AND x:Organization))
                     AND (c.started_on IS NULL OR c.started_on <= $as_of)
                     AND (c.ended_on IS NULL OR c.ended_on >= $as_of) | [x.id, coalesce(c.strength, 3), c.id]] AS ties
RETURN party.id AS id, kind, party.region AS region, party.role AS role, coalesce(party.topics, []) AS topics,
       CASE kind WHEN 'member' THEN [(party)-[a:MEMBER_OF]->(o:Organization)
                                     WHERE (a.since IS NULL OR a.since <= $as_of)
                                       AND (a.until IS NULL OR a.until >= $as_of) | o.id]
                 ELSE [] END AS organizations,
       [t IN ties | t[0]] AS tie_ids, [t IN ties | t[1]] AS tie_strengths, party.cluster_id AS cluster_id,
       [t IN ties | t[2]] AS tie_keys

// name: analytics_party_counts
// How many members and organizations exist (from the count store): a patched projection must have as many.
CALL () { MATCH (m:Member) RETURN count(m) AS members }
CALL () { MATCH (o:Organization) RETURN count(o) AS organizations }
RETURN members, organizations

// name: analytics_cluster_mark
// How many cluster-id write-back batches have been committed (the `clusters` counter, 0 before any): a
// projection that read members' cluster ids under another value reads them again.
OPTIONAL MATCH (generation:Counter {name: 'clusters'})
RETURN coalesce(generation.value, 0) AS mark

// name: analytics_cluster_ids
// Every member's written-back cluster id (members without one are left out).
MATCH (m:Member) WHERE m.cluster_id IS NOT NULL
RETURN m.id AS id, m.cluster_id AS cluster_id

// name: analytics_members_by_ids
// The members with these ids (as GET /v1/members/{id} shows them), in no particular order.
UNWIND $ids AS member_id
MATCH (m:Member {id: member_id})
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS member

// name: analytics_organization_names
// id and name of each organization in $ids that exists.
UNWIND $ids AS organization_id
MATCH (o:Organization {id: organization_id})
RETURN o.id AS id, o.name AS name

// name: analytics_members_page
// One page of the members whose id is in $ids, ordered by (name_key, id) after the cursor; item and sort_key.
MATCH (m:Member)
WHERE m.id IN $ids
  AND ($after IS NULL OR m.name_key > $after[0] OR (m.name_key = $after[0] AND m.id > $after[1]))
WITH m ORDER BY m.name_key, m.id LIMIT $limit
RETURN m {.*, affiliations: COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    RETURN a {.role, .since, .until, member_id: m.id, organization_id: o.id, organization_name: o.name}
    ORDER BY o.name_key, o.id
}} AS item, [m.name_key, m.id] AS sort_key

// name: analytics_write_cluster_ids
// Writes derived cluster ids ($rows of {id, cluster_id}) onto members; not a change: no version, no feed entry.
// It counts the write in the `clusters` counter, so what is derived from cluster ids (the recommendations'
// cluster-tie memo) knows when they moved without a new graph revision.
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
SET m.cluster_id = row.cluster_id
WITH count(m) AS written
MERGE (generation:Counter {name: 'clusters'})
SET generation.value = coalesce(generation.value, 0) + 1
RETURN written, generation.value AS generation

// name: analytics_write_betweenness
// Writes derived betweenness ($rows of {id, betweenness}) onto members whose stored one differs; not a
// change: no version, no feed entry. Members without ties keep 0 from one revision to the next (most of a
// network that syncs contacts before their ties), so their rows write nothing.
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
WHERE m.betweenness IS NULL OR m.betweenness <> row.betweenness
SET m.betweenness = row.betweenness
RETURN count(m) AS written

// name: analytics_write_coreness
// Writes derived k-core numbers and collaborator counts (distinct members tied; what recommendations read
// for a candidate's degree instead of walking its relationships) ($rows of {id, coreness, collaborators})
// onto members whose stored ones differ; not a change: no version, no feed entry. Most members keep both
// from one revision to the next, so most rows write nothing.
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
WHERE m.coreness IS NULL OR m.coreness <> row.coreness
   OR m.collaborator_count IS NULL OR m.collaborator_count <> row.collaborators
SET m.coreness = row.coreness, m.collaborator_count = row.collaborators
RETURN count(m) AS written

// name: analytics_snapshot_create
// Stores a health snapshot (metrics and scope as JSON text) and returns it.
CREATE (s:HealthSnapshot {id: $id, label: $label, as_of: $as_of, revision: $revision, scope: $scope,
                          metrics: $metrics, created_at: datetime()})
RETURN s {.*} AS snapshot

// name: analytics_snapshot_get
// One health snapshot, or no row.
MATCH (s:HealthSnapshot {id: $id})
RETURN s {.*} AS snapshot

// name: analytics_snapshot_list
// One page of health snapshots ordered by (created_at, id) after the cursor; item and sort_key.
MATCH (s:HealthSnapshot)
WHERE $after IS NULL OR s.created_at > datetime($after[0])
   OR (s.created_at = datetime($after[0]) AND s.id > $after[1])
WITH s ORDER BY s.created_at, s.id LIMIT $limit
RETURN s {.*} AS item, [toString(s.created_at), s.id] AS sort_key
