// Statements only the tests of reach and cores use.

// name: test_member_coreness
// Every member's written-back k-core number (null before one is written).
MATCH (m:Member)
RETURN m.id AS id, m.coreness AS coreness
