// Constraints and indexes, applied at start-up; every statement is idempotent.

// name: schema_member_id
// Members are addressed by their API-assigned UUID.
CREATE CONSTRAINT member_id IF NOT EXISTS FOR (m:Member) REQUIRE m.id IS UNIQUE

// name: schema_organization_id
CREATE CONSTRAINT organization_id IF NOT EXISTS FOR (o:Organization) REQUIRE o.id IS UNIQUE

// name: schema_collaboration_id
// Collaborations are relationships with their own id.
CREATE CONSTRAINT collaboration_id IF NOT EXISTS FOR ()-[c:COLLABORATES_WITH]-() REQUIRE c.id IS UNIQUE

// name: schema_external_id_key
// An external id ("salesforce:003xx") names exactly one node; a node may have several.
CREATE CONSTRAINT external_id_key IF NOT EXISTS FOR (x:ExternalId) REQUIRE x.key IS UNIQUE

// name: schema_api_key_id
CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.id IS UNIQUE

// name: schema_api_key_hash
// Keys are looked up by the SHA-256 of the presented secret.
CREATE CONSTRAINT api_key_hash IF NOT EXISTS FOR (k:ApiKey) REQUIRE k.hash IS UNIQUE

// name: schema_member_name_key
// Lists are ordered by (name_key, id) and searched by name_key.
CREATE INDEX member_name_key IF NOT EXISTS FOR (m:Member) ON (m.name_key, m.id)

// name: schema_organization_name_key
CREATE INDEX organization_name_key IF NOT EXISTS FOR (o:Organization) ON (o.name_key, o.id)

// name: schema_member_region
CREATE INDEX member_region IF NOT EXISTS FOR (m:Member) ON (m.region)

// name: schema_member_role
CREATE INDEX member_role IF NOT EXISTS FOR (m:Member) ON (m.role)

// name: schema_collaboration_created
CREATE INDEX collaboration_created IF NOT EXISTS FOR ()-[c:COLLABORATES_WITH]-() ON (c.created_at)

// name: schema_counter_name
// The change counter is one node, found by name.
CREATE CONSTRAINT counter_name IF NOT EXISTS FOR (c:Counter) REQUIRE c.name IS UNIQUE

// name: schema_change_seq
// Change-feed entries are read in seq order from a cursor.
CREATE CONSTRAINT change_seq IF NOT EXISTS FOR (c:Change) REQUIRE c.seq IS UNIQUE

// name: schema_idempotency_scope
// One record per (API key, Idempotency-Key).
CREATE CONSTRAINT idempotency_scope IF NOT EXISTS FOR (r:IdempotencyRecord) REQUIRE r.scope IS UNIQUE

// name: schema_idempotency_created
CREATE INDEX idempotency_created IF NOT EXISTS FOR (r:IdempotencyRecord) ON (r.created_at)

// name: schema_collaboration_external_key
// A synced collaboration carries its external key ("collaboration:<source>:<external id>") itself.
CREATE CONSTRAINT collaboration_external_key IF NOT EXISTS
FOR ()-[c:COLLABORATES_WITH]-() REQUIRE c.external_key IS UNIQUE

// name: schema_external_id_tie
// Finds the ExternalId nodes that named ties before ties carried their own key (see the migration below);
// none are written any more, so the index stays empty and costs nothing.
CREATE INDEX external_id_tie IF NOT EXISTS FOR (x:ExternalId) ON (x.tie_id)

// name: schema_migrate_collaboration_external_ids
// Upgrades a database synced before ties carried their key: each ExternalId node {tie_id} hands its key to
// the tie and goes (with no tie left, it just goes). Idempotent; finds nothing once done (index seek).
MATCH (x:ExternalId)
WHERE x.tie_id IS NOT NULL
CALL (x) {
    OPTIONAL MATCH ()-[c:COLLABORATES_WITH {id: x.tie_id}]->()
    SET c.external_key = x.key
    DETACH DELETE x
} IN TRANSACTIONS OF 5000 ROWS

// name: schema_migrate_held_by_api
// Upgrades a database written before members and organizations made through the API were marked so: one that
// no external id names was made through the API (a synced one is created with its external id, and a source's
// tombstone deletes it with its last), so it is marked held_by_api and a source that attaches to it later
// cannot delete it. One made through the API that a source attached to before the mark existed cannot be
// told apart.
MATCH (n:Member|Organization)
WHERE n.held_by_api IS NULL AND NOT EXISTS { (:ExternalId)-[:IDENTIFIES]->(n) }
CALL (n) {
    SET n.held_by_api = true
} IN TRANSACTIONS OF 5000 ROWS

// name: schema_introduction_id
CREATE CONSTRAINT introduction_id IF NOT EXISTS FOR (i:Introduction) REQUIRE i.id IS UNIQUE

// name: schema_introduction_created
CREATE INDEX introduction_created IF NOT EXISTS FOR (i:Introduction) ON (i.created_at)

// name: schema_activity_id
// Activities (convenings, workshops, cohorts, committees) are addressed by their API-assigned UUID.
CREATE CONSTRAINT activity_id IF NOT EXISTS FOR (a:Activity) REQUIRE a.id IS UNIQUE

// name: schema_activity_created
// Activities are listed by (created_at, id).
CREATE INDEX activity_created IF NOT EXISTS FOR (a:Activity) ON (a.created_at, a.id)

// name: schema_activity_kind
// A vocabulary merge rewrites the activities holding a kind; this index finds them.
CREATE INDEX activity_kind IF NOT EXISTS FOR (a:Activity) ON (a.kind)
