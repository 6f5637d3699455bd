// Segments (equity lenses, GET /v1/analytics/segments): what members are grouped by besides the region and
// role the analytics projection already holds.

// name: segments_attribute_definition
// The member attribute named $name: its type and whether it is personal data; no row when it is not defined.
MATCH (d:AttributeDefinition {target: 'member', name: $name})
RETURN d.type AS type, coalesce(d.pii, false) AS pii
LIMIT 1

// name: segments_attribute_values
// Every member's value of one attribute, as one list of [member id, value] pairs (members without a value are
// left out). The value is the property whose key is $attribute_key: 'attr.' + the attribute's name, a name
// checked against ^[a-z][a-z0-9_]{0,39}$ and defined as an AttributeDefinition before it gets here.
MATCH (m:Member)
WHERE m[$attribute_key] IS NOT NULL
RETURN collect([m.id, m[$attribute_key]]) AS pairs

// name: segments_primary_organizations
// Each member's primary organization on $as_of, as one list of [member id, organization id, organization name]:
// the longest-standing of the member's affiliations active then (earliest `since`, an affiliation without
// `since` counting as the earliest; then the organization's name and id). Members without an affiliation
// active on $as_of are left out.
MATCH (m:Member)
WITH m, COLLECT {
    MATCH (m)-[a:MEMBER_OF]->(o:Organization)
    WHERE (a.since IS NULL OR a.since <= $as_of) AND (a.until IS NULL OR a.until >= $as_of)
    WITH o, a ORDER BY a.since IS NOT NULL, a.since, o.name_key, o.id LIMIT 1
    RETURN [o.id, o.name]
} AS primary
WHERE size(primary) > 0
RETURN collect([m.id, primary[0][0], primary[0][1]]) AS rows
