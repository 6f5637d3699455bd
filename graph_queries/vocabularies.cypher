// Vocabularies: each network's own words for member roles, organization kinds, collaboration kinds and
// affiliation roles. A Vocabulary node {name, policy, version} holds the policy (open: unknown values are
// added; closed: refused); its values are VocabularyTerm nodes {key: "<vocabulary>:<value>", vocabulary,
// value, label, description, position}.

// name: vocabulary_seed
// Creates each vocabulary of $vocabularies [{name, terms: [{value, label}]}] that does not exist yet, open,
// with its default terms; an existing vocabulary is left as its deployment set it. Returns nothing.
UNWIND $vocabularies AS seed
MERGE (v:Vocabulary {name: seed.name})
ON CREATE SET v.policy = 'open', v.version = 1, v.created_at = datetime(), v.updated_at = datetime(),
              v._seeding = true
WITH seed, v
WHERE v._seeding
UNWIND range(0, size(seed.terms) - 1) AS i
MERGE (t:VocabularyTerm {key: seed.name + ':' + seed.terms[i].value})
ON CREATE SET t.vocabulary = seed.name, t.value = seed.terms[i].value, t.label = seed.terms[i].label,
              t.position = i, t.created_at = datetime()
WITH DISTINCT v
REMOVE v._seeding

// name: vocabulary_list
// Every vocabulary with its terms in position order (then value).
MATCH (v:Vocabulary)
RETURN v {.name, .policy, .version, .updated_at, values: COLLECT {
    MATCH (t:VocabularyTerm {vocabulary: v.name})
    WITH t ORDER BY t.position, t.value
    RETURN t {.value, .label, .description}
}} AS vocabulary
ORDER BY v.name

// name: vocabulary_get
// One vocabulary with its terms, or no row.
MATCH (v:Vocabulary {name: $name})
RETURN v {.name, .policy, .version, .updated_at, values: COLLECT {
    MATCH (t:VocabularyTerm {vocabulary: v.name})
    WITH t ORDER BY t.position, t.value
    RETURN t {.value, .label, .description}
}} AS vocabulary

// name: vocabulary_lock
// Takes the write lock of the vocabulary named $id; returns its version (no row when absent).
MATCH (v:Vocabulary {name: $id})
SET v._lock = true
REMOVE v._lock
RETURN v.version AS version, v.policy AS policy

// name: vocabulary_replace
// Sets the policy and makes the terms exactly $values [{value, label, description}] in that order; run after
// vocabulary_lock. Returns the new version.
MATCH (v:Vocabulary {name: $name})
SET v.policy = $policy, v.version = v.version + 1, v.updated_at = datetime()
WITH v
CALL (v) {
    MATCH (t:VocabularyTerm {vocabulary: v.name})
    WHERE NOT t.value IN [item IN $values | item.value]
    DELETE t
}
CALL (v) {
    UNWIND range(0, size($values) - 1) AS i
    MERGE (t:VocabularyTerm {key: v.name + ':' + $values[i].value})
    ON CREATE SET t.vocabulary = v.name, t.value = $values[i].value, t.created_at = datetime()
    SET t.label = $values[i].label, t.description = $values[i].description, t.position = i
}
RETURN v.version AS version

// name: vocabulary_resolve
// For each wanted {vocabulary, value}, in `terms`: the vocabulary's policy (null when no such vocabulary) and
// whether the value is one of its terms. With them, in the same round trip (a sync batch needs both, and a
// round trip each showed in bench/sync_attributes.py), the attribute definitions of $target (null: none) as
// attribute_definitions gives them, in `definitions`.
CALL () {
    UNWIND $wanted AS wanted
    OPTIONAL MATCH (v:Vocabulary {name: wanted.vocabulary})
    OPTIONAL MATCH (t:VocabularyTerm {key: wanted.vocabulary + ':' + wanted.value})
    RETURN collect({vocabulary: wanted.vocabulary, value: wanted.value, policy: v.policy,
                    known: t IS NOT NULL}) AS terms
}
CALL () {
    MATCH (d:AttributeDefinition {target: $target})
    WITH d ORDER BY d.name
    RETURN collect(d {.*}) AS definitions
}
RETURN terms, definitions

// name: vocabulary_values
// The values of vocabulary $name in position order, at most $limit (for a problem naming the allowed values).
MATCH (t:VocabularyTerm {vocabulary: $name})
WITH t ORDER BY t.position, t.value LIMIT $limit
RETURN collect(t.value) AS values

// name: vocabulary_grow
// Adds the terms $terms [{vocabulary, value, label}] of open vocabularies (after the known ones); returns the
// [vocabulary, value] pairs this transaction added (a term another writer added first is not new here).
UNWIND $terms AS term
MATCH (v:Vocabulary {name: term.vocabulary})
MERGE (t:VocabularyTerm {key: term.vocabulary + ':' + term.value})
ON CREATE SET t.vocabulary = term.vocabulary, t.value = term.value, t.label = term.label,
              t.position = 1000000, t.created_at = datetime(), t._new = true
WITH v, t, t._new IS NOT NULL AS added
REMOVE t._new
WITH v, t, added
WHERE added
SET v.version = v.version + 1, v.updated_at = datetime()
RETURN collect([t.vocabulary, t.value]) AS added

// name: vocabulary_usage_member_role
// How many members hold each of $values as their role (only values in use are returned).
MATCH (m:Member) WHERE m.role IN $values
RETURN m.role AS value, count(*) AS uses

// name: vocabulary_usage_organization_kind
// How many organizations hold each of $values as their kind (only values in use are returned).
MATCH (o:Organization) WHERE o.kind IN $values
RETURN o.kind AS value, count(*) AS uses

// name: vocabulary_usage_collaboration_kind
// How many collaborations hold each of $values as their kind (only values in use are returned).
MATCH ()-[c:COLLABORATES_WITH]->() WHERE c.kind IN $values
RETURN c.kind AS value, count(*) AS uses

// name: vocabulary_usage_affiliation_role
// How many affiliations hold each of $values as their role (only values in use are returned).
MATCH (:Member)-[a:MEMBER_OF]->(:Organization) WHERE a.role IN $values
RETURN a.role AS value, count(*) AS uses

// name: vocabulary_merge_members
// Rewrites the role of at most $batch members holding one of $from to $into; returns their ids.
MATCH (m:Member) WHERE m.role IN $from
WITH m LIMIT $batch
SET m.role = $into, m.version = m.version + 1, m.updated_at = datetime()
RETURN collect(m.id) AS ids

// name: vocabulary_merge_organizations
// Rewrites the kind of at most $batch organizations holding one of $from to $into; returns their ids.
MATCH (o:Organization) WHERE o.kind IN $from
WITH o LIMIT $batch
SET o.kind = $into, o.version = o.version + 1, o.updated_at = datetime()
RETURN collect(o.id) AS ids

// name: vocabulary_merge_collaborations
// Rewrites the kind of at most $batch collaborations holding one of $from to $into; returns [id, source id,
// target id] of each.
MATCH (a)-[c:COLLABORATES_WITH]->(b) WHERE c.kind IN $from
WITH a, c, b LIMIT $batch
SET c.kind = $into, c.version = c.version + 1, c.updated_at = datetime()
RETURN collect([c.id, a.id, b.id]) AS ids

// name: vocabulary_merge_affiliations
// Rewrites the role of at most $batch affiliations holding one of $from to $into; returns [member id,
// organization id] of each.
MATCH (m:Member)-[a:MEMBER_OF]->(o:Organization) WHERE a.role IN $from
WITH m, a, o LIMIT $batch
SET a.role = $into, a.updated_at = datetime()
RETURN collect([m.id, o.id]) AS ids

// name: vocabulary_merge_terms
// After a merge: the terms $from go, the term $into exists (labelled $label when new); bumps the version.
MATCH (v:Vocabulary {name: $name})
SET v.version = v.version + 1, v.updated_at = datetime()
WITH v
CALL (v) {
    MATCH (t:VocabularyTerm {vocabulary: v.name}) WHERE t.value IN $from AND t.value <> $into
    DELETE t
}
MERGE (t:VocabularyTerm {key: v.name + ':' + $into})
ON CREATE SET t.vocabulary = v.name, t.value = $into, t.label = $label, t.position = 1000000,
              t.created_at = datetime()
RETURN v.version AS version

// name: vocabulary_usage_activity_kind
// How many activities hold each of $values as their kind (only values in use are returned).
MATCH (a:Activity) WHERE a.kind IN $values
RETURN a.kind AS value, count(*) AS uses

// name: vocabulary_merge_activities
// Rewrites the kind of at most $batch activities holding one of $from to $into; returns their ids.
MATCH (a:Activity) WHERE a.kind IN $from
WITH a LIMIT $batch
SET a.kind = $into, a.version = a.version + 1, a.updated_at = datetime()
RETURN collect(a.id) AS ids
