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
// Tombstones: deletes the members named by rows {index, key} with their ties and external ids;
// returns per row the member id (null when none) and what went with it.
UNWIND $rows AS row
OPTIONAL MATCH (:ExternalId {key: row.key})-[:IDENTIFIES]->(m:Member)
WITH row, m, m.id AS id,
     CASE WHEN m IS NULL THEN [] ELSE [(m)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] END AS collaborations,
     CASE WHEN m IS NULL THEN [] ELSE [(m)-[:MEMBER_OF]->(o:Organization) | o.id] END AS organizations,
     CASE WHEN m IS NULL THEN [] ELSE [(x:ExternalId)-[:IDENTIFIES]->(m) | x] END AS handles
WITH row, m, id, collaborations, organizations, handles, [x IN handles | x.source + ':' + x.value] AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE m
RETURN row.index AS index, id, collaborations, organizations, external_ids

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
// Tombstones: deletes the organizations named by rows {index, key} with their ties and external ids.
UNWIND $rows AS row
OPTIONAL MATCH (:ExternalId {key: row.key})-[:IDENTIFIES]->(o:Organization)
WITH row, o, o.id AS id,
     CASE WHEN o IS NULL THEN [] ELSE [(o)-[c:COLLABORATES_WITH]-() | [c.id, startNode(c).id, endNode(c).id]] END AS collaborations,
     CASE WHEN o IS NULL THEN [] ELSE [(m:Member)-[:MEMBER_OF]->(o) | m.id] END AS members,
     CASE WHEN o IS NULL THEN [] ELSE [(x:ExternalId)-[:IDENTIFIES]->(o) | x] END AS handles
WITH row, o, id, collaborations, members, handles, [x IN handles | x.source + ':' + x.value] AS external_ids
FOREACH (x IN handles | DETACH DELETE x)
DETACH DELETE o
RETURN row.index AS index, id, collaborations, members, external_ids

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
