// Custom attributes. A definition is an AttributeDefinition node {key: "<target>:<name>", target, name, type,
// values, label, description, pii, version}. A value is stored on the member, organization or collaboration
// under the property "attr.<name>", which statements reach only through a parameter ($key, or a map key):
// never as text of the statement.

// name: attribute_definitions
// The definitions, all or of one $target (null: all), ordered by target and name.
MATCH (d:AttributeDefinition)
WHERE $target IS NULL OR d.target = $target
RETURN d {.*} AS definition
ORDER BY d.target, d.name

// name: attribute_definition_get
// One definition by key, or no row.
MATCH (d:AttributeDefinition {key: $key})
RETURN d {.*} AS definition

// name: attribute_definition_count
// How many attributes $target has.
MATCH (d:AttributeDefinition {target: $target})
RETURN count(d) AS count

// name: attribute_definition_put
// Creates or replaces the definition $key from $props; returns it and whether it is new.
MERGE (d:AttributeDefinition {key: $key})
ON CREATE SET d.version = 0, d.created_at = datetime(), d._new = true
WITH d, d._new IS NOT NULL AS created
REMOVE d._new
SET d += $props, d.version = d.version + 1, d.updated_at = datetime()
RETURN d {.*} AS definition, created

// name: attribute_definition_delete
// Removes the definition $key; returns how many went (0 or 1).
MATCH (d:AttributeDefinition {key: $key})
DELETE d
RETURN count(*) AS removed

// name: attribute_usage_member
// How many members hold attribute property $key.
MATCH (m:Member)
WHERE m[$key] IS NOT NULL
RETURN count(m) AS uses

// name: attribute_usage_organization
// How many organizations hold attribute property $key.
MATCH (o:Organization)
WHERE o[$key] IS NOT NULL
RETURN count(o) AS uses

// name: attribute_usage_collaboration
// How many collaborations hold attribute property $key.
MATCH ()-[c:COLLABORATES_WITH]->()
WHERE c[$key] IS NOT NULL
RETURN count(c) AS uses

// name: attribute_values_held_member
// Of the values $values, each that members hold in attribute property $key, with how many hold it (no row for a
// value nobody holds).
MATCH (m:Member)
WHERE m[$key] IN $values
RETURN m[$key] AS value, count(m) AS uses

// name: attribute_values_held_organization
// Of the values $values, each that organizations hold in attribute property $key, with how many hold it.
MATCH (o:Organization)
WHERE o[$key] IN $values
RETURN o[$key] AS value, count(o) AS uses

// name: attribute_values_held_collaboration
// Of the values $values, each that collaborations hold in attribute property $key, with how many hold it.
MATCH ()-[c:COLLABORATES_WITH]->()
WHERE c[$key] IN $values
RETURN c[$key] AS value, count(c) AS uses

// name: attribute_clear_member
// Removes attribute property $key ($nulls = {key: null}) from at most $batch members; returns their ids.
MATCH (m:Member)
WHERE m[$key] IS NOT NULL
WITH m LIMIT $batch
SET m += $nulls, m.version = m.version + 1, m.updated_at = datetime()
RETURN collect(m.id) AS ids

// name: attribute_clear_organization
// Removes attribute property $key from at most $batch organizations; returns their ids.
MATCH (o:Organization)
WHERE o[$key] IS NOT NULL
WITH o LIMIT $batch
SET o += $nulls, o.version = o.version + 1, o.updated_at = datetime()
RETURN collect(o.id) AS ids

// name: attribute_clear_collaboration
// Removes attribute property $key from at most $batch collaborations; returns [id, source id, target id] of each.
MATCH (a)-[c:COLLABORATES_WITH]->(b)
WHERE c[$key] IS NOT NULL
WITH a, c, b LIMIT $batch
SET c += $nulls, c.version = c.version + 1, c.updated_at = datetime()
RETURN collect([c.id, a.id, b.id]) AS ids

// name: attribute_member_values
// For each member id in $ids that exists, the values of the attribute properties $keys (in that order; null
// where absent). The keys are defined attributes' storage keys (attr.<name>), never raw input.
UNWIND $ids AS id
MATCH (m:Member {id: id})
RETURN id, [key IN $keys | m[key]] AS values
