// Network alert constraints, applied at start-up; every statement is idempotent.

// name: schema_alert_id
// Alerts are addressed by their UUID (a webhook delivery names the alert it carries).
CREATE CONSTRAINT alert_id IF NOT EXISTS FOR (a:Alert) REQUIRE a.id IS UNIQUE

// name: schema_alert_seq
// Alerts are read in seq order after a position, and listed newest first by seq.
CREATE CONSTRAINT alert_seq IF NOT EXISTS FOR (a:Alert) REQUIRE a.seq IS UNIQUE

// name: schema_alert_baseline_question
// One baseline per default question, found (and made) by MERGE on its name.
CREATE CONSTRAINT alert_baseline_question IF NOT EXISTS FOR (b:AlertBaseline) REQUIRE b.question IS UNIQUE

// name: schema_alert_settings_name
// The thresholds are one node, made by MERGE on its name by the first PUT.
CREATE CONSTRAINT alert_settings_name IF NOT EXISTS FOR (s:AlertSettings) REQUIRE s.name IS UNIQUE
