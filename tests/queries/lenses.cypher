// Statements only the tests of segments, reach and cores use.
//
// Custom member attributes are written here straight into the storage the attributes API (issue 16, part 2)
// uses, until that API exists: a definition is an AttributeDefinition node, a member's value the property
// 'attr.' + name. tests/analytics/attributes.py is the only caller, so swapping these for API calls is one change.

// name: test_attribute_define
// Defines (or redefines) an attribute of $target named $attribute, of $type, personal data when $pii.
MERGE (d:AttributeDefinition {target: $target, name: $attribute})
SET d.type = $type, d.pii = $pii
RETURN d.name AS name

// name: test_attribute_set_values
// Sets members' attribute values: $rows of {id, properties}, properties a map {'attr.<name>': value}.
UNWIND $rows AS row
MATCH (m:Member {id: row.id})
SET m += row.properties
RETURN count(m) AS written

// name: test_member_coreness
// Every member's written-back k-core number (null before one is written).
MATCH (m:Member)
RETURN m.id AS id, m.coreness AS coreness
