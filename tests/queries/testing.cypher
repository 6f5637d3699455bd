// Statements only the tests use.

// name: test_clean_graph
// Removes every node but the start-up admin key, so each test starts from an empty network.
MATCH (n)
WHERE NOT (n:ApiKey AND n.id = $keep_key_id)
DETACH DELETE n

// name: test_count_collaborations
// How many COLLABORATES_WITH ties touch the party (or all of them when $id is null).
MATCH (a)-[c:COLLABORATES_WITH]-(b)
WHERE $id IS NULL OR a.id = $id
RETURN count(DISTINCT c) AS ties

// name: test_member_exists_raw
// Reads a member straight from the database (bypassing the API) to check what a failed write left.
MATCH (m:Member {id: $id})
RETURN m {.*} AS member

// name: test_api_key_raw
// Every stored property of one API key, to check no secret is kept.
MATCH (k:ApiKey {id: $id})
RETURN k {.*} AS key
