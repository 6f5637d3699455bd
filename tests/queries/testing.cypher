// Statements only the tests use.

// name: test_clean_graph
// Removes every node but the start-up admin key and the change counter, so each test starts from an
// empty network while the graph revision keeps growing, as it does in production (caches key by it).
MATCH (n)
WHERE NOT (n:ApiKey AND n.id = $keep_key_id) AND NOT n:Counter
DETACH DELETE n

// name: test_count_collaborations
// How many COLLABORATES_WITH ties touch the party (or all of them when $id is null).
MATCH (a)-[c:COLLABORATES_WITH]-(b)
WHERE $id IS NULL OR a.id = $id
RETURN count(DISTINCT c) AS ties

// name: test_member_exists_raw
// Reads a member straight from the database (bypassing the API) to check what a failed write left.
MATCH (m:Member {id: $id})
RETURN m {.*} AS member

// name: test_api_key_raw
// Every stored property of one API key, to check no secret is kept.
MATCH (k:ApiKey {id: $id})
RETURN k {.*} AS key

// name: test_graph_fingerprint
// The network as comparable data: members, organizations, affiliations and ties by external id, sorted.
CALL () {
    MATCH (x:ExternalId)-[:IDENTIFIES]->(n)
    RETURN collect([x.key, labels(n)[0], n.name, n.email, n.role, n.title, n.region, n.kind, n.topics,
                    n.version IS NOT NULL]) AS nodes
}
CALL () {
    MATCH (m:Member)-[:MEMBER_OF]->(o:Organization)
    MATCH (xm:ExternalId)-[:IDENTIFIES]->(m)
    MATCH (xo:ExternalId)-[:IDENTIFIES]->(o)
    RETURN collect([xm.key, xo.key]) AS affiliations
}
CALL () {
    MATCH ()-[c:COLLABORATES_WITH]->()
    WHERE c.external_key IS NOT NULL
    RETURN collect([c.external_key, c.kind, c.strength, c.started_on, c.ended_on]) AS ties
}
CALL () {
    MATCH (n) WHERE n:Member OR n:Organization
    RETURN count(n) AS node_count
}
CALL () {
    MATCH ()-[c:COLLABORATES_WITH]->()
    RETURN count(c) AS tie_count
}
RETURN nodes, affiliations, ties, node_count, tie_count

// name: test_members_by_external_key
// How many members each of $keys identifies.
UNWIND $keys AS key
OPTIONAL MATCH (:ExternalId {key: key})-[:IDENTIFIES]->(m:Member)
RETURN key, count(m) AS members

// name: test_set_clusters
// Puts members into clusters directly ($rows of {id, cluster_id}), as the analytics write-back would
// (counting the write in the `clusters` counter, as it does).
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
SET m.cluster_id = row.cluster_id
WITH count(m) AS written
MERGE (generation:Counter {name: 'clusters'})
SET generation.value = coalesce(generation.value, 0) + 1

// name: test_slow_statement
// Counts through $rows numbers and keeps none: seconds of work for a large $rows, to run into the
// transaction timeout on purpose.
UNWIND range(1, $rows) AS x
WITH x WHERE x % 1000003 = -1
RETURN count(x) AS kept

// name: test_member_outside_feed
// Creates a member the way no API path does: without a change entry (what a live projection must notice).
CREATE (m:Member {id: $id, name: 'Outside', name_key: 'outside', topics: [], version: 1, discoverable: true})
RETURN m.id AS id

// name: test_counter_value
// The value of the counter named $counter (0 before its first use).
OPTIONAL MATCH (counter:Counter {name: $counter})
RETURN coalesce(counter.value, 0) AS value

// name: test_tie_external_keys
// Every tie that carries an external key, with its id.
MATCH ()-[c:COLLABORATES_WITH]->()
WHERE c.external_key IS NOT NULL
RETURN c.id AS id, c.external_key AS external_key
ORDER BY id

// name: test_legacy_tie_handles
// How many ExternalId nodes still name a tie by tie_id (the model before ties carried their key).
MATCH (x:ExternalId)
WHERE x.tie_id IS NOT NULL
RETURN count(x) AS handles

// name: test_make_legacy_tie_handles
// Turns synced ties back into the old model: the key moves from each tie (named by $keys) to an ExternalId
// node {key, source, value, resource, tie_id}; a key with no tie gets a node naming a deleted tie.
UNWIND $keys AS key
OPTIONAL MATCH ()-[c:COLLABORATES_WITH {external_key: key}]->()
CREATE (x:ExternalId {key: key, source: split(key, ':')[1], value: split(key, ':')[2],
                      resource: 'collaboration', tie_id: coalesce(c.id, randomUUID())})
REMOVE c.external_key

// name: test_lock_member
// Takes the write lock of the member $id; returns one row of one list (the shape db.run_scalars reads).
MATCH (m:Member {id: $id})
SET m._lock = true
REMOVE m._lock
RETURN collect(m.id) AS locked

// name: test_delete_instance
// Removes the database's id (what a new database lacks), keeping its data and change feed.
MATCH (i:Instance)
DETACH DELETE i

// name: test_legacy_changes
// Appends $entries (maps {resource, id, action, source, external_ids, parties}) as Change nodes of the earlier
// one-entry-per-node format, numbered after the counter, and marks the feed as not yet migrated.
MERGE (counter:Counter {name: 'changes'})
ON CREATE SET counter.value = 0
WITH counter, counter.value AS base
SET counter.value = base + size($entries)
REMOVE counter.entries_format
WITH base
UNWIND range(0, size($entries) - 1) AS i
WITH base, base + i + 1 AS seq, $entries[i] AS change
CREATE (:Change {seq: seq, resource: change.resource, resource_id: change.id, action: change.action,
                 source: change.source, external_ids: change.external_ids, parties: change.parties,
                 at: datetime()})
RETURN DISTINCT base

// name: test_change_nodes
// Each Change node after seq $after as [seq, last, property keys], in seq order.
MATCH (c:Change) WHERE c.seq > $after
RETURN c.seq AS seq, c.last AS last, keys(c) AS keys ORDER BY seq

// name: test_old_shape_network
// A network as main wrote it before vocabularies, attributes and email keys: members without email_key (two of
// them with one email in other cases), a synced member without topics, populations or discoverable, and no
// Vocabulary nodes. Returns nothing.
CREATE (o:Organization {id: 'a0000000-0000-4000-8000-000000000001', name: 'North District', name_key: 'north district',
                        kind: 'district', topics: [], version: 1, created_at: datetime(), updated_at: datetime()})
CREATE (a:Member {id: 'a0000000-0000-4000-8000-000000000002', name: 'Ada', name_key: 'ada', email: 'Ada@Example.org',
                  role: 'coach', topics: ['literacy'], populations: [], discoverable: true, version: 3,
                  created_at: datetime('2024-01-01T00:00:00Z'), updated_at: datetime()})
CREATE (b:Member {id: 'a0000000-0000-4000-8000-000000000003', name: 'Ada R', name_key: 'ada r', email: 'ada@example.org ',
                  role: 'teacher', version: 1, created_at: datetime('2025-01-01T00:00:00Z'), updated_at: datetime()})
CREATE (x:ExternalId {key: 'member:hubspot:h1', source: 'hubspot', value: 'h1', resource: 'member'})-[:IDENTIFIES]->(b)
CREATE (a)-[:MEMBER_OF {role: 'staff', created_at: datetime(), updated_at: datetime()}]->(o)
CREATE (a)-[:COLLABORATES_WITH {id: 'a0000000-0000-4000-8000-000000000004', kind: 'mentoring', strength: 4,
                                source: 'api', version: 1, created_at: datetime(), updated_at: datetime()}]->(b)

// name: test_drop_vocabularies
// Removes every vocabulary and term, as in a database written before vocabularies existed.
MATCH (n) WHERE n:Vocabulary OR n:VocabularyTerm
DETACH DELETE n

// name: test_set_raw_text
// Overwrites the name of a member or organization, or the note of a collaboration (by id), straight in
// the database, past the API's input rules: text stored before they existed, or written by other means.
OPTIONAL MATCH (n {id: $id}) WHERE n:Member OR n:Organization
OPTIONAL MATCH ()-[c:COLLABORATES_WITH {id: $id}]->()
FOREACH (_ IN CASE WHEN n IS NULL THEN [] ELSE [1] END | SET n.name = $text)
FOREACH (_ IN CASE WHEN c IS NULL THEN [] ELSE [1] END | SET c.note = $text)

// name: test_count_reports
// How many analytics reports of a kind are stored (one per question, whatever the runs that computed it).
MATCH (r:AnalyticsReport {kind: $kind})
RETURN count(r) AS reports

// name: test_age_report
// Moves an analytics report's stored_at back by $days.
MATCH (r:AnalyticsReport {key: $key})
SET r.stored_at = r.stored_at - duration({days: $days})
RETURN r.key AS key

// name: test_report_keys
// The keys of the analytics reports whose keys start with $prefix.
MATCH (r:AnalyticsReport) WHERE r.key STARTS WITH $prefix
RETURN r.key AS key ORDER BY key

// name: test_check_in_state
// Every check-in record as comparable data, sorted: nominations [survey, question, source, target, scales],
// invitations [key, member, token hash, status, draft, submission], write-ins [id, respondent, member,
// status] and check-in ties [external key, source, target, strength, trust, value, reciprocated].
CALL () {
    MATCH (a:Member)-[n:NOMINATED]->(b:Member)
    WITH a, n, b ORDER BY n.survey_id, n.question_id, a.id, b.id
    RETURN collect([n.survey_id, n.question_id, a.id, b.id, n.scales]) AS nominations
}
CALL () {
    MATCH (i:SurveyInvitation)
    WITH i ORDER BY i.key
    RETURN collect([i.key, i.member_id, i.token_hash, i.status, i.draft, i.submission]) AS invitations
}
CALL () {
    MATCH (w:SurveyWriteIn)
    WITH w ORDER BY w.id
    RETURN collect([w.id, w.respondent_id, w.member_id, w.status]) AS write_ins
}
CALL () {
    MATCH (a)-[c:COLLABORATES_WITH]->(b)
    WHERE c.source STARTS WITH 'survey:'
    WITH a, c, b ORDER BY c.external_key
    RETURN collect([c.external_key, a.id, b.id, c.strength, c.trust, c.value, c.reciprocated]) AS ties
}
RETURN nominations, invitations, write_ins, ties

// name: test_set_member_role
// Sets a member's role straight in the database, past the vocabularies: a value written before they listed it.
MATCH (m:Member {id: $id})
SET m.role = $role
