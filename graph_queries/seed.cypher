// Batch loading of a generated network (netweave seed --demo): UNWIND $rows, about a thousand at a time.

// name: seed_graph_is_empty
// True when the graph holds no member and no organization.
RETURN NOT EXISTS { (:Member) } AND NOT EXISTS { (:Organization) } AS empty

// name: seed_organizations
// Creates organizations from rows {id, props}, held by the API (no source holds them).
UNWIND $rows AS row
CREATE (o:Organization)
SET o = row.props, o.id = row.id, o.held_by_api = true, o.name_key = toLower(row.props.name), o.version = 1,
    o.created_at = datetime(), o.updated_at = o.created_at

// name: seed_members
// Creates members from rows {id, props}, held by the API (no source holds them).
UNWIND $rows AS row
CREATE (m:Member)
SET m = row.props, m.id = row.id, m.held_by_api = true, m.name_key = toLower(row.props.name), m.version = 1,
    m.created_at = datetime(), m.updated_at = m.created_at

// name: seed_affiliations
// Ties members to organizations from rows {member_id, organization_id, role, since}.
UNWIND $rows AS row
MATCH (m:Member {id: row.member_id}), (o:Organization {id: row.organization_id})
MERGE (m)-[a:MEMBER_OF]->(o)
SET a.role = row.role, a.since = row.since, a.created_at = datetime(), a.updated_at = a.created_at

// name: seed_collaborations
// Creates collaborations from rows {id, source_id, target_id, props}; parties are members or organizations.
UNWIND $rows AS row
CALL (row) {
    OPTIONAL MATCH (m:Member {id: row.source_id})
    OPTIONAL MATCH (o:Organization {id: row.source_id})
    RETURN coalesce(m, o) AS a
}
CALL (row) {
    OPTIONAL MATCH (m:Member {id: row.target_id})
    OPTIONAL MATCH (o:Organization {id: row.target_id})
    RETURN coalesce(m, o) AS b
}
CREATE (a)-[c:COLLABORATES_WITH]->(b)
SET c = row.props, c.id = row.id, c.version = 1, c.created_at = datetime(), c.updated_at = c.created_at
