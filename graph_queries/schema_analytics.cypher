// Analytics constraints and indexes, applied at start-up; every statement is idempotent.

// name: schema_health_snapshot_id
// Health snapshots are addressed by their UUID.
CREATE CONSTRAINT health_snapshot_id IF NOT EXISTS FOR (s:HealthSnapshot) REQUIRE s.id IS UNIQUE

// name: schema_health_snapshot_created
// Snapshots are listed in (created_at, id) order.
CREATE INDEX health_snapshot_created IF NOT EXISTS FOR (s:HealthSnapshot) ON (s.created_at, s.id)

// name: schema_member_cluster_id
// Cypher queries and recommendations find the members of a cluster by the written-back id.
CREATE INDEX member_cluster_id IF NOT EXISTS FOR (m:Member) ON (m.cluster_id)
