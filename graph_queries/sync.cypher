// CRM sync: batched upserts keyed by external ids, and tombstones.
// An external key is "<resource>:<source>:<external id>". A member's or organization's is an ExternalId
// node (a node may have several, from several systems), unique under a constraint, so two integrations
// upserting the same record at once MERGE the same ExternalId and end with one node. A collaboration's is
// the tie's own external_key property, unique under a relationship constraint.

// name: sync_resolve_organizations
// For each key in $keys (organization ExternalId keys) and raw values (netweave ids), the organization id or null.
UNWIND $refs AS ref
OPTIONAL MATCH (:ExternalId {key: ref.key})-[:IDENTIFIES]->(o:Organization)
OPTIONAL MATCH (byid:Organization {id: ref.value})
RETURN ref.value AS value, coalesce(o.id, byid.id) AS id

// name: sync_upsert_members
// Creates or updates members from rows {index, key, external_id, new_id, link_id, match_key, email_key, props};
// writes nothing for unchanged ones. A record whose external id names no member attaches it to the member whose
// netweave id is link_id, else to the member holding the email key match_key (null: no matching by email),
// instead of creating one. A new member gets the shape a POST gives (topics, populations, discoverable).
// One person, one member: a record that would give an existing member the email (email_key) another member
// holds writes nothing, and an external id it named for the first time goes again. Returns one row: `rows`, per
// input row [index, id, status, matched, holder] (status created, updated, unchanged or email_taken; matched
// 'email' when the member was found by email, else null; holder: the id of the member holding the email when
// email_taken).
UNWIND $rows AS row
MERGE (x:ExternalId {key: row.key})
ON CREATE SET x.source = $source, x.value = row.external_id, x.resource = 'member'
WITH row, x
OPTIONAL MATCH (x)-[:IDENTIFIES]->(found:Member)
OPTIONAL MATCH (linked:Member {id: row.link_id})
OPTIONAL MATCH (by_email:Member {email_key: row.match_key})
WITH row, x, found, coalesce(found, linked, by_email) AS existing,
     found IS NULL AND linked IS NULL AND by_email IS NOT NULL AS matched_email
OPTIONAL MATCH (holder:Member {email_key: row.email_key})
// A member keeps an email it already has (a duplicate stored before keys is listed, not refused).
WITH row, x, found, existing, matched_email,
     CASE WHEN holder <> existing AND coalesce(toLower(trim(existing.email)), '') <> row.email_key
          THEN holder END AS taken_by
WITH row, x, found, existing, matched_email, taken_by,
     taken_by IS NULL AND found IS NULL AND existing IS NOT NULL AS link
FOREACH (_ IN CASE WHEN link THEN [1] ELSE [] END | MERGE (x)-[:IDENTIFIES]->(existing))
WITH row, x, found, existing, matched_email, taken_by,
     taken_by IS NULL AND existing IS NOT NULL AND (link OR any(k IN keys(row.props)
         WHERE NOT coalesce(existing[k] = row.props[k], existing[k] IS NULL AND row.props[k] IS NULL))) AS changed
FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
    CREATE (m:Member {id: row.new_id})
    SET m += row.props, m.name_key = toLower(row.props.name), m.version = 1,
        m.topics = coalesce(m.topics, []), m.populations = coalesce(m.populations, []),
        m.discoverable = coalesce(m.discoverable, true),
        m.created_at = datetime(), m.updated_at = m.created_at
    CREATE (x)-[:IDENTIFIES]->(m))
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET existing += row.props, existing.name_key = toLower(existing.name),
        existing.version = existing.version + 1, existing.updated_at = datetime())
FOREACH (_ IN CASE WHEN taken_by IS NOT NULL AND found IS NULL THEN [1] ELSE [] END | DETACH DELETE x)
RETURN collect([row.index, coalesce(existing.id, row.new_id),
                CASE WHEN taken_by IS NOT NULL THEN 'email_taken' WHEN existing IS NULL THEN 'created'
                     WHEN changed THEN 'updated' ELSE 'unchanged' END,
                CASE WHEN matched_email THEN 'email' END, taken_by.id]) AS rows

// name: member_email_keys
// Gives each member of rows {id, email_key} that email key (null: none) unless another member holds it, in
// which case the member holds none (GET /v1/members/duplicates lists it). Returns nothing.
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
WHERE coalesce(m.email_key, '') <> coalesce(row.email_key, '')
OPTIONAL MATCH (holder:Member {email_key: row.email_key})
WITH m, row, holder
SET m.email_key = CASE WHEN holder IS NULL OR holder = m THEN row.email_key END

// name: sync_member_affiliations
// Makes each member's affiliations from this source exactly rows {member_id, organization_ids}.
// Returns per member the organization ids added and removed.
UNWIND $rows AS row
MATCH (m:Member {id: row.member_id})
CALL (m, row) {
    UNWIND row.organization_ids AS organization_id
    MATCH (o:Organization {id: organization_id})
    OPTIONAL MATCH (m)-[had:MEMBER_OF]->(o)
    WITH m, o, had
    WHERE had IS NULL
    CREATE (m)-[a:MEMBER_OF {role: 'member', source: $source, created_at: datetime(), updated_at: datetime()}]->(o)
    RETURN collect(o.id) AS added
}
CALL (m, row) {
    OPTIONAL MATCH (m)-[a:MEMBER_OF {source: $source}]->(o:Organization)
    WHERE NOT o.id IN row.organization_ids
    WITH a, o WHERE a IS NOT NULL
    DELETE a
    RETURN collect(o.id) AS removed
}
RETURN row.member_id AS member_id, added, removed

// name: sync_delete_members
// Tombstones from $source, rows {index, key}: the source no longer holds the member. The external ids named go;
// the member goes too (with its ties, affiliations and external ids) only when nothing else holds it: no other
// external id names it and it was not made through the API (held_by_api). A member still held keeps the rest,
// loses the affiliations this source gave it (unless another of its external ids is this source's), and its
// version goes up. Returns one row per member named (and one for the rows naming none, id null): indexes (its
// rows), id, deleted, kept_sources (the sources of its remaining external ids), held_by_api, detached (the
// external ids that went, 'source:value'), and what went with it: collaborations [id, source, target] and
// organizations (a deleted member's affiliations, or the ones a kept member lost), external_ids (all it had).
UNWIND $rows AS row
OPTIONAL MATCH (x:ExternalId {key: row.key})-[:IDENTIFIES]->(m:Member)
WITH m, collect(row.index) AS indexes, collect(x) AS named
// The member's lock before its other external ids are read: two sources letting go of it at once must not
// each find the other's id still there and leave a member nobody holds.
FOREACH (_ IN CASE WHEN m IS NULL THEN [] ELSE [1] END | SET m._lock = true REMOVE m._lock)
WITH m, indexes, named, m.id AS id, [x IN named | x.source + ':' + x.value] AS detached,
     CASE WHEN m IS NULL THEN [] ELSE [(h:ExternalId)-[:IDENTIFIES]->(m) WHERE NOT h IN named | h] END AS kept
WITH m, indexes, named, id, detached, kept, [h IN kept | h.source] AS kept_sources,
     coalesce(m.held_by_api, false) AS held_by_api
WITH m, indexes, named, id, detached, kept, kept_sources, held_by_api,
     m IS NOT NULL AND kept = [] AND NOT held_by_api AS deleted
OPTIONAL CALL (m, named, deleted, kept_sources) {
    WITH m, named, kept_sources WHERE m IS NOT NULL AND NOT deleted
    FOREACH (x IN named | DETACH DELETE x)
    SET m.version = m.version + 1, m.updated_at = datetime()
    WITH m, kept_sources
    OPTIONAL MATCH (m)-[a:MEMBER_OF {source: $source}]->(o:Organization)
    WHERE NOT $source IN kept_sources
    WITH collect(a) AS affiliations, collect(o.id) AS lost
    FOREACH (a IN affiliations | DELETE a)
    RETURN lost
}
OPTIONAL CALL (m, named, deleted) {
    WITH m, named WHERE deleted
    WITH m, named, [(m)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] AS collaborations,
         [(m)-[:MEMBER_OF]->(o:Organization) | o.id] AS organizations
    FOREACH (x IN named | DETACH DELETE x)
    DETACH DELETE m
    RETURN collaborations, organizations AS gone_with
}
RETURN indexes, id, deleted, kept_sources, held_by_api, detached, coalesce(collaborations, []) AS collaborations,
       coalesce(gone_with, lost, []) AS organizations, CASE WHEN deleted THEN detached ELSE [] END AS external_ids

// name: sync_upsert_organizations
// Creates or updates organizations from rows {index, key, external_id, new_id, link_id, props} (link_id as for
// members); returns one row: `rows`, per input row [index, id, status].
UNWIND $rows AS row
MERGE (x:ExternalId {key: row.key})
ON CREATE SET x.source = $source, x.value = row.external_id, x.resource = 'organization'
WITH row, x
OPTIONAL MATCH (x)-[:IDENTIFIES]->(found:Organization)
OPTIONAL MATCH (linked:Organization {id: row.link_id})
WITH row, x, coalesce(found, linked) AS existing, found IS NULL AND linked IS NOT NULL AS link
FOREACH (_ IN CASE WHEN link THEN [1] ELSE [] END | MERGE (x)-[:IDENTIFIES]->(existing))
WITH row, x, existing,
     existing IS NOT NULL AND (link OR any(k IN keys(row.props)
         WHERE NOT coalesce(existing[k] = row.props[k], existing[k] IS NULL AND row.props[k] IS NULL))) AS changed
FOREACH (_ IN CASE WHEN existing IS NULL THEN [1] ELSE [] END |
    CREATE (o:Organization {id: row.new_id})
    SET o += row.props, o.name_key = toLower(row.props.name), o.version = 1, o.topics = coalesce(o.topics, []),
        o.created_at = datetime(), o.updated_at = o.created_at
    CREATE (x)-[:IDENTIFIES]->(o))
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET existing += row.props, existing.name_key = toLower(existing.name),
        existing.version = existing.version + 1, existing.updated_at = datetime())
RETURN collect([row.index, coalesce(existing.id, row.new_id),
                CASE WHEN existing IS NULL THEN 'created' WHEN changed THEN 'updated' ELSE 'unchanged' END]) AS rows

// name: sync_delete_organizations
// Tombstones from $source, rows {index, key}, as sync_delete_members: the external ids named go, and the
// organization with its ties and external ids only when no other external id names it and it was not made
// through the API (its members stay). A kept organization's version goes up. Returns one row per organization
// named (and one for the rows naming none, id null): indexes, id, deleted, kept_sources, held_by_api,
// detached, and for a deleted one collaborations [id, source, target], members (affiliated), external_ids.
UNWIND $rows AS row
OPTIONAL MATCH (x:ExternalId {key: row.key})-[:IDENTIFIES]->(o:Organization)
WITH o, collect(row.index) AS indexes, collect(x) AS named
FOREACH (_ IN CASE WHEN o IS NULL THEN [] ELSE [1] END | SET o._lock = true REMOVE o._lock)
WITH o, indexes, named, o.id AS id, [x IN named | x.source + ':' + x.value] AS detached,
     CASE WHEN o IS NULL THEN [] ELSE [(h:ExternalId)-[:IDENTIFIES]->(o) WHERE NOT h IN named | h.source] END
         AS kept_sources, coalesce(o.held_by_api, false) AS held_by_api
WITH o, indexes, named, id, detached, kept_sources, held_by_api,
     o IS NOT NULL AND kept_sources = [] AND NOT held_by_api AS deleted
CALL (o, named, deleted) {
    WITH o, named WHERE o IS NOT NULL AND NOT deleted
    FOREACH (x IN named | DETACH DELETE x)
    SET o.version = o.version + 1, o.updated_at = datetime()
}
OPTIONAL CALL (o, named, deleted) {
    WITH o, named WHERE deleted
    WITH o, named, [(o)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] AS collaborations,
         [(m:Member)-[:MEMBER_OF]->(o) | m.id] AS members
    FOREACH (x IN named | DETACH DELETE x)
    DETACH DELETE o
    RETURN collaborations, members
}
RETURN indexes, id, deleted, kept_sources, held_by_api, detached, coalesce(collaborations, []) AS collaborations,
       coalesce(members, []) AS members, CASE WHEN deleted THEN detached ELSE [] END AS external_ids

// name: sync_upsert_collaborations
// Resolves the parties and creates or updates ties in one pass, from rows {index, key, new_id, source_keys,
// source_value, target_keys, target_value, props}. A side's party is the member, else the organization,
// its external id names in this source (`*_keys`: [member key, organization key]), else the member or
// organization whose netweave id is `*_value` (looked up only when the member key names none). The tie carries its external key itself, unique under the
// collaboration_external_key constraint; MERGE locks both parties, so two integrations creating the same
// tie at once end with one. Returns one row: `rows`, per input row [index, id, status, source found,
// target found], status created, updated, unchanged, moved (the tie exists between other parties: not
// written) or unresolved (a party is missing: not written).
UNWIND $rows AS row
CALL (row) {
    OPTIONAL MATCH (:ExternalId {key: row.source_keys[0]})-[:IDENTIFIES]->(member:Member)
    OPTIONAL CALL (row, member) {
        WITH row WHERE member IS NULL
        OPTIONAL MATCH (:ExternalId {key: row.source_keys[1]})-[:IDENTIFIES]->(organization:Organization)
        OPTIONAL MATCH (m:Member {id: row.source_value})
        OPTIONAL MATCH (o:Organization {id: row.source_value})
        RETURN coalesce(organization, m, o) AS other
    }
    RETURN coalesce(member, other) AS a
}
CALL (row) {
    OPTIONAL MATCH (:ExternalId {key: row.target_keys[0]})-[:IDENTIFIES]->(member:Member)
    OPTIONAL CALL (row, member) {
        WITH row WHERE member IS NULL
        OPTIONAL MATCH (:ExternalId {key: row.target_keys[1]})-[:IDENTIFIES]->(organization:Organization)
        OPTIONAL MATCH (m:Member {id: row.target_value})
        OPTIONAL MATCH (o:Organization {id: row.target_value})
        RETURN coalesce(organization, m, o) AS other
    }
    RETURN coalesce(member, other) AS b
}
OPTIONAL MATCH (p)-[existing:COLLABORATES_WITH {external_key: row.key}]->(q)
WITH row, a, b, existing,
     existing IS NOT NULL AND a IS NOT NULL AND b IS NOT NULL
         AND NOT ((p = a AND q = b) OR (p = b AND q = a)) AS moved
OPTIONAL CALL (row, a, b, existing) {
    WITH row, a, b WHERE existing IS NULL AND a IS NOT NULL AND b IS NOT NULL
    MERGE (a)-[c:COLLABORATES_WITH {external_key: row.key}]->(b)
    ON CREATE SET c.id = row.new_id, c += row.props, c.source = $source, c.version = 1,
                  c.created_at = datetime(), c.updated_at = c.created_at
    RETURN c AS made
}
// A tie another transaction created since this one looked is updated like one found.
WITH row, a, b, moved, made,
     CASE WHEN existing IS NOT NULL THEN existing WHEN made.id <> row.new_id THEN made END AS found
WITH row, a, b, moved, made, found,
     found IS NOT NULL AND NOT moved AND a IS NOT NULL AND b IS NOT NULL AND any(k IN keys(row.props)
         WHERE NOT coalesce(found[k] = row.props[k], found[k] IS NULL AND row.props[k] IS NULL)) AS changed
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END |
    SET found += row.props, found.version = found.version + 1, found.updated_at = datetime())
RETURN collect([row.index, coalesce(found.id, made.id),
                CASE WHEN a IS NULL OR b IS NULL THEN 'unresolved' WHEN moved THEN 'moved'
                     WHEN found IS NULL THEN 'created' WHEN changed THEN 'updated' ELSE 'unchanged' END,
                a IS NOT NULL, b IS NOT NULL]) AS rows

// name: sync_delete_collaborations
// Tombstones: deletes the ties named by rows {index, key} (their external key goes with them); returns each
// deleted tie's id and parties (for the change feed).
UNWIND $rows AS row
OPTIONAL MATCH (a)-[c:COLLABORATES_WITH {external_key: row.key}]->(b)
WITH row, c, c.id AS id, a.id AS source_id, b.id AS target_id
DELETE c
RETURN row.index AS index, id, source_id, target_id
