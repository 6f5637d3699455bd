// The raw-driver peer of bench/sync.py: the same records written with batched UNWIND ... MERGE.

// name: peer_member_key
CREATE CONSTRAINT peer_member_key IF NOT EXISTS FOR (m:Member) REQUIRE m.external_key IS UNIQUE

// name: peer_upsert_members
// Upserts members by external key.
UNWIND $rows AS row
MERGE (m:Member {external_key: row.key})
SET m += row.props

// name: peer_upsert_collaborations
// Upserts ties between members by the tie's external key.
UNWIND $rows AS row
MATCH (a:Member {external_key: row.source_key})
MATCH (b:Member {external_key: row.target_key})
MERGE (a)-[c:COLLABORATES_WITH {external_key: row.key}]->(b)
SET c += row.props
