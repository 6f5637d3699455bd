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

// name: schema_analytics_run_id
// Background analytics runs are polled by id from any API worker.
CREATE CONSTRAINT analytics_run_id IF NOT EXISTS FOR (r:AnalyticsRun) REQUIRE r.id IS UNIQUE

// name: schema_analytics_run_key
// A worker looks for a run already computing the same answer (same arguments, same revision).
CREATE INDEX analytics_run_key IF NOT EXISTS FOR (r:AnalyticsRun) ON (r.key)

// name: schema_analytics_report_key
// One stored report per set of arguments (the latest revision computed), shared by all API workers.
CREATE CONSTRAINT analytics_report_key IF NOT EXISTS FOR (r:AnalyticsReport) REQUIRE r.key IS UNIQUE

// name: schema_instance_name
// One Instance node: the database's id for its projection snapshots (service/analytics/snapshots.py).
CREATE CONSTRAINT instance_name IF NOT EXISTS FOR (i:Instance) REQUIRE i.name IS UNIQUE

// name: schema_ranking_model_version
// Ranking models (service/recommending/ranking.py) are read newest first, by version.
CREATE CONSTRAINT ranking_model_version IF NOT EXISTS FOR (m:RankingModel) REQUIRE m.version IS UNIQUE
