// Vocabularies, custom attribute definitions and one-person-one-node keys, applied at start-up after
// schema.cypher; every statement is idempotent.

// name: schema_vocabulary_name
// One Vocabulary node per vocabulary (member_role, organization_kind, collaboration_kind, affiliation_role).
CREATE CONSTRAINT vocabulary_name IF NOT EXISTS FOR (v:Vocabulary) REQUIRE v.name IS UNIQUE

// name: schema_vocabulary_term_key
// A term's key is "<vocabulary>:<value>", so two writers adding the same new value MERGE one term.
CREATE CONSTRAINT vocabulary_term_key IF NOT EXISTS FOR (t:VocabularyTerm) REQUIRE t.key IS UNIQUE

// name: schema_vocabulary_term_vocabulary
// A vocabulary's terms are listed by vocabulary name.
CREATE INDEX vocabulary_term_vocabulary IF NOT EXISTS FOR (t:VocabularyTerm) ON (t.vocabulary)

// name: schema_attribute_definition_key
// A custom attribute is defined once per target: key "<target>:<name>".
CREATE CONSTRAINT attribute_definition_key IF NOT EXISTS FOR (d:AttributeDefinition) REQUIRE d.key IS UNIQUE

// name: schema_organization_kind
// A vocabulary merge rewrites the nodes and ties holding a value; these indexes find them.
CREATE INDEX organization_kind IF NOT EXISTS FOR (o:Organization) ON (o.kind)

// name: schema_collaboration_kind
CREATE INDEX collaboration_kind IF NOT EXISTS FOR ()-[c:COLLABORATES_WITH]-() ON (c.kind)

// name: schema_affiliation_role
CREATE INDEX affiliation_role IF NOT EXISTS FOR ()-[a:MEMBER_OF]-() ON (a.role)

// name: schema_member_email_key
// One person, one member: the normalised email (trimmed, lower-case) is held by at most one member, so
// concurrent creates of the same person cannot both succeed (the loser retries and matches).
CREATE CONSTRAINT member_email_key IF NOT EXISTS FOR (m:Member) REQUIRE m.email_key IS UNIQUE

// name: schema_migrate_member_email_key
// Upgrades members written before email keys: per normalised email, the oldest member without a key takes
// it when no member holds it yet; the others stay keyless and are listed by GET /v1/members/duplicates.
MATCH (m:Member)
WHERE m.email IS NOT NULL AND m.email_key IS NULL
WITH toLower(trim(m.email)) AS key, m
ORDER BY m.created_at, m.id
WITH key, collect(m)[0] AS first
WHERE NOT EXISTS { MATCH (:Member {email_key: key}) }
SET first.email_key = key

// name: schema_migrate_member_shape
// Every member has the same shape whichever path wrote it: members synced without topics, populations or
// discoverable (before sync filled them) get the defaults a POST gives.
MATCH (m:Member)
WHERE m.topics IS NULL OR m.populations IS NULL OR m.discoverable IS NULL
CALL (m) {
    SET m.topics = coalesce(m.topics, []), m.populations = coalesce(m.populations, []),
        m.discoverable = coalesce(m.discoverable, true)
} IN TRANSACTIONS OF 5000 ROWS
